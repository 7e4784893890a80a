"""Account › Notifications in a browser: reached from the account menu, saved with a message,
checked by axe at desktop and phone widths, light and dark (screenshots in
test-artifacts/screenshots/)."""

import pytest
from playwright.sync_api import expect

from notifications.models import NotificationSettings
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser


def test_a_full_admin_turns_off_the_digest_from_the_account_menu(
    page_as, full_admin, axe_check, snap
):
    page = page_as(full_admin)
    page.locator(".user-menu > summary").click()
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    week_ahead = page.get_by_label("Warn me a week before one of my tokens expires")
    digest = page.get_by_label("Send me the weekly API token hygiene digest")
    expect(week_ahead).to_be_checked()
    expect(digest).to_be_checked()
    axe_check(page, "notifications-1280")
    snap(page, "notifications-1280")
    digest.uncheck()
    page.get_by_role("button", name="Save notification settings").click()
    expect(page.get_by_role("status")).to_have_text("Your notification settings are saved.")
    expect(digest).not_to_be_checked()
    expect(week_ahead).to_be_checked()
    choice = NotificationSettings.objects.get(user=full_admin)
    assert choice.expiry_week_ahead and not choice.weekly_digest


def test_an_operator_on_a_phone_in_dark_mode_sees_only_the_warning(
    page_as, operator, axe_check, snap
):
    page = page_as(operator, viewport=PHONE, color_scheme="dark")
    page.goto("/account/notifications/")
    expect(page.get_by_label("Warn me a week before one of my tokens expires")).to_be_visible()
    expect(page.get_by_label("Send me the weekly API token hygiene digest")).to_have_count(0)
    axe_check(page, "notifications-375-dark")
    snap(page, "notifications-375-dark")
