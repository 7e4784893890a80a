"""Settings › Identity in a browser: the Copy buttons beside the redirect URI and SCIM base URL,
its summary, and a SIEM agent form in error (screenshots in test-artifacts/screenshots/)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("button", "path"),
    [("Copy redirect URI", "login/sso/callback/"), ("Copy SCIM base URL", "scim/v2")],
)
def test_copy_buttons_put_the_url_on_the_clipboard(page_as, full_admin, custom_url, button, path):
    page = page_as(full_admin)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=custom_url.rstrip("/")
    )
    page.goto("/settings/identity/")
    copy = page.get_by_role("button", name=button)
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    field = copy.locator("xpath=ancestor::div[contains(@class, 'field')][1]")
    expect(field.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == custom_url + path


def test_the_identity_summary_and_a_select_in_error(page_as, full_admin, snap):
    page = page_as(full_admin)
    page.goto("/settings/identity/")
    summary = page.get_by_role("region", name="At a glance")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Single sign-on")
    expect(summary).to_contain_text("Password sign-in")
    snap(page, "identity-summary-1280")
    page.goto("/settings/security-extensions/siem-agents/")
    page.get_by_role("button", name="Add SIEM agent").click()
    dialog = page.get_by_role("dialog", name="Add SIEM agent")
    expect(dialog.get_by_label("Format")).to_have_value("")
    dialog.get_by_role("button", name="Add agent").click()
    select = page.get_by_role("dialog", name="Add SIEM agent").get_by_label("Format")
    expect(select).to_have_attribute("aria-invalid", "true")
    expect(select).to_have_accessible_description(
        "Choose the format your SIEM reads: CEF or JSON lines."
    )
    color = select.evaluate("e => getComputedStyle(e).borderTopColor")
    name_color = dialog.get_by_label("Name").evaluate("e => getComputedStyle(e).borderTopColor")
    assert color == name_color  # both in error: the danger colour, not the plain border
    snap(page, "siem-agent-errors-1280")
