"""Issue 29, item 3 in a browser: a full admin suspends an operator's token from its page,
a call with it is refused naming who to ask, and resuming makes it work again, unchanged."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.layout import layout_problems

pytestmark = pytest.mark.browser

ME = "/api/v1/me/"


def test_suspend_refuses_calls_naming_who_to_ask_and_resume_restores_them(
    page_as, full_admin, operator, token_of, api_get, axe_check, snap
):
    token, secret = token_of(operator, "SOAR playbooks", used_days_ago=1)
    assert api_get(ME, secret)[0] == 200
    page = page_as(full_admin)
    page.get_by_role("link", name="SOAR playbooks").click()
    page.get_by_role("button", name="Suspend", exact=True).click()
    dialog = page.get_by_role("dialog", name="Suspend token?")
    expect(dialog).to_contain_text("refused")
    dialog.get_by_role("button", name="Suspend token").click()
    expect(page.get_by_role("status").or_(page.get_by_role("alert")).first).to_contain_text(
        "was suspended"
    )
    note = page.get_by_role("note").filter(has_text="Every call with this token is refused")
    expect(note).to_contain_text(f"by {full_admin.email}")
    expect(page.locator(".lede .badge-suspended")).to_have_text("Suspended")
    snap(page, "token-suspended-1280")
    axe_check(page, "token-suspended")

    status, body = api_get(ME, secret)
    assert status == 403 and full_admin.email in body["detail"] and "suspended" in body["detail"]

    # The tokens list says so, in the status filter of its own.
    page.goto("/settings/security-extensions/api-tokens/?status=suspended")
    expect(page.get_by_role("link", name="SOAR playbooks")).to_be_visible()
    page.get_by_role("link", name="SOAR playbooks").click()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("note").filter(has_text="Every call")).to_have_count(0)
    assert api_get(ME, secret)[0] == 200


def test_the_suspended_token_page_reads_well_on_a_phone(
    new_page, page_as, full_admin, operator, token_of, axe_check, snap
):
    from tokens.services import token_suspend

    token, _ = token_of(operator, "Quarterly report script", used_days_ago=3)
    token_suspend(token=token, by=full_admin)
    page = page_as(full_admin, viewport=PHONE)
    page.goto(f"/settings/security-extensions/api-tokens/{token.pk}/")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    assert layout_problems(page, "token-suspended-375") == []
    snap(page, "token-suspended-375")
    axe_check(page, "token-suspended-375")
