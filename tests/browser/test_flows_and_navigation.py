"""Issue 20: the token page confirms in the list's dialogs; the top bar and its menus on a
375 px phone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tokens.models import Token

pytestmark = pytest.mark.browser

TOKENS_URL = "/settings/security-extensions/api-tokens/"


def test_revoke_on_the_token_page_asks_in_a_dialog(page_as, operator, token_of, snap):
    token, _ = token_of(operator, "Deploy bot")
    page = page_as(operator)
    page.get_by_role("link", name="Deploy bot").click()
    expect(page.get_by_role("heading", name="Deploy bot", level=1)).to_be_visible()
    detail_url = page.url
    page.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog", name="Revoke token?")
    expect(dialog).to_contain_text("Revoke Deploy bot?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    assert page.url == detail_url  # a dialog, not the separate page
    snap(page, "token-page-revoke-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Token.objects.get(pk=token.pk).revoked_at is None

    page.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Token “Deploy bot” was revoked.")
    assert Token.objects.get(pk=token.pk).revoked_at is not None


def test_rotating_an_expired_token_says_until_when_it_is_revived(page_as, operator, token_of, snap):
    token, _ = token_of(operator, "Old job", generated_days_ago=40)
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=10))
    page = page_as(operator)
    page.goto(f"{TOKENS_URL}{token.pk}/")
    page.get_by_role("button", name="Rotate").click()
    dialog = page.get_by_role("dialog", name="Rotate token?")
    until = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d")
    expect(dialog).to_contain_text(f"rotating revives it until {until}")
    expect(dialog).to_contain_text("(30 days from now)")
    snap(page, "token-page-rotate-expired-dialog")
    dialog.get_by_role("button", name="Rotate token").click()
    expect(page.get_by_role("dialog", name="Copy your rotated token")).to_be_visible()
    token.refresh_from_db()
    assert token.expires_at.strftime("%Y-%m-%d") == until


def test_the_list_rotate_dialog_shows_each_tokens_own_expiry(page_as, operator, token_of):
    token_of(operator, "Forever")
    page = page_as(operator)
    page.get_by_role("button", name="Rotate Forever").click()
    dialog = page.get_by_role("dialog", name="Rotate token?")
    expect(dialog).to_contain_text("The new value never expires.")


def phone_menu_fits(page):
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    name = page.locator(".tenant-name")
    expect(name).to_be_visible()
    box = name.bounding_box()
    assert box["width"] > 20 and box["x"] + box["width"] <= width
    return name


def test_on_a_phone_the_tenant_stays_named_and_settings_lead_to_api_tokens(
    page_as, operator, tenant, snap
):
    tenant.name = "Contoso International Holdings"  # too long for the bar: an ellipsis
    tenant.save()
    page = page_as(operator, viewport=PHONE)
    phone_menu_fits(page)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Settings").click()
    for name in ("Security extensions", "API tokens"):
        link = nav.get_by_role("link", name=name)
        expect(link).to_be_visible()
        assert link.bounding_box()["x"] >= 0
    snap(page, "phone-375-operator-settings-menu")
    link.click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()

    page.get_by_label("Help", exact=True).click()
    for name in ("About", "Using tokens", "API reference"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    snap(page, "phone-375-help-menu")
    nav.get_by_role("link", name="API reference").click()
    expect(page.get_by_role("heading", name="API reference", level=1)).to_be_visible()
    phone_menu_fits(page)


def test_on_a_phone_a_full_admin_finds_siem_agents_in_settings(page_as, full_admin, snap):
    page = page_as(full_admin, viewport=PHONE)
    phone_menu_fits(page)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Settings").click()
    for name in ("Security extensions", "API tokens", "SIEM agents", "Log collectors"):
        link = nav.get_by_role("link", name=name)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    snap(page, "phone-375-admin-settings-menu")
    nav.get_by_role("link", name="SIEM agents").click()
    expect(page.get_by_role("heading", name="SIEM agents", level=1)).to_be_visible()


def test_the_policy_shows_what_it_revokes_before_it_is_saved(
    page_as, full_admin, operator, token_of, tenant, snap
):
    token_of(operator, "Stale export", generated_days_ago=100)
    token_of(operator, "Daily sync", used_days_ago=1)
    page = page_as(full_admin)
    page.goto(f"{TOKENS_URL}policy/")
    page.get_by_label("Revoke tokens unused for (days)").fill("60")
    page.get_by_role("button", name="Save policy").click()
    preview = page.locator(".preview")
    expect(preview).to_contain_text("1 token unused for over 60 days will be revoked")
    expect(preview).to_contain_text("Stale export")
    expect(preview).not_to_contain_text("Daily sync")
    snap(page, "token-policy-preview")
    tenant.refresh_from_db()
    assert tenant.token_inactive_revoke_days is None
    page.get_by_role("button", name="Save policy anyway").click()
    expect(page.get_by_role("status")).to_contain_text("Token policy saved.")
    tenant.refresh_from_db()
    assert tenant.token_inactive_revoke_days == 60


def test_the_api_reference_reads_on_a_phone(page_as, reader, snap):
    page = page_as(reader, viewport=PHONE)
    page.goto("/help/api/")
    expect(
        page.get_by_role("heading", name="GET /api/v1/tokens/", level=2, exact=True)
    ).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role(
        "heading", name="GET /api/v1/tokens/", level=2, exact=True
    ).scroll_into_view_if_needed()
    snap(page, "phone-375-api-reference")
