"""axe-core on every page and dialog state, at desktop and phone width, light and dark.

Every state runs at 1280 and 375 px and in dark mode; the dialogs, the richest states, also
in dark mode at phone width. Colours do not depend on the width, so that is enough.

Each state is also saved as a screenshot in test-artifacts/screenshots/ (<state>-<screen>.png)
so that a person can look at what the suite saw.
"""

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

TOKENS_URL = "/settings/security-extensions/api-tokens/"


@dataclass
class Screen:
    name: str
    options: dict


DESKTOP_LIGHT = Screen("1280", {"viewport": DESKTOP})
PHONE_LIGHT = Screen("375", {"viewport": PHONE})
DESKTOP_DARK = Screen("1280-dark", {"viewport": DESKTOP, "color_scheme": "dark"})
PHONE_DARK = Screen("375-dark", {"viewport": PHONE, "color_scheme": "dark"})


def on_screens(*screens):
    return pytest.mark.parametrize("screen", screens, ids=lambda screen: screen.name, indirect=True)


@pytest.fixture
def screen(request):
    return request.param


@pytest.fixture
def check(axe_check, snap, screen):
    """check(page, state): a screenshot named after the state and screen, then axe-core."""

    def run(page, state):
        name = f"{state}-{screen.name}"
        snap(page, name)
        axe_check(page, name)

    return run


@on_screens(DESKTOP_LIGHT, PHONE_LIGHT, DESKTOP_DARK, PHONE_DARK)
def test_the_tokens_list_and_its_dialogs_pass_axe(
    page_as, full_admin, tokens_of_every_kind, screen, check
):
    page = page_as(full_admin, **screen.options)
    check(page, "tokens-admin")

    page.get_by_role("button", name="Generate new token").click()
    expect(page.get_by_label("Token name")).to_be_focused()
    check(page, "generate")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Enter a name for the token")).to_be_visible()
    check(page, "generate-error")
    page.get_by_label("Token name").fill("Nightly backup script")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("dialog", name="Copy your new token")).to_be_visible()
    check(page, "reveal")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("button", name="Back to the token")).to_be_focused()
    check(page, "reveal-close-without-copying")
    page.get_by_role("button", name="Close without copying").click()

    page.get_by_role("button", name="Revoke Terraform provider").click()
    expect(page.get_by_role("dialog", name="Revoke token?")).to_be_visible()
    check(page, "revoke")
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status")).to_contain_text("was revoked")
    check(page, "revoked")


@on_screens(DESKTOP_LIGHT, PHONE_LIGHT)
@pytest.mark.parametrize("role", ["operator", "reader"])
def test_the_tokens_list_passes_axe_as_each_role(
    page_as, request, role, tokens_of_every_kind, screen, check
):
    page = page_as(request.getfixturevalue(role), **screen.options)
    check(page, f"tokens-{role}")


@on_screens(DESKTOP_LIGHT, PHONE_LIGHT, DESKTOP_DARK)
def test_plain_pages_without_javascript_pass_axe(
    page_as, operator, tokens_of_every_kind, screen, check
):
    # axe-core itself needs JavaScript, so these states block the portal's own script instead
    # of disabling JavaScript: the page is what a browser without JavaScript renders.
    page = page_as(operator, **screen.options)
    page.route("**/portal.js", lambda route: route.abort())
    page.goto(f"{TOKENS_URL}new/")
    expect(page.get_by_label("Token name")).to_be_visible()
    check(page, "nojs-generate")
    page.goto(TOKENS_URL)
    page.get_by_role("button", name="Revoke SOAR playbooks").click()
    expect(page.get_by_role("heading", name="Revoke token?", level=1)).to_be_visible()
    check(page, "nojs-revoke")


@on_screens(DESKTOP_LIGHT, PHONE_LIGHT, DESKTOP_DARK)
def test_sign_in_empty_states_and_the_other_pages_pass_axe(
    new_page, reader, token_of, screen, check, sign_in_with_form
):
    page = new_page(**screen.options)
    page.goto("/login/")
    check(page, "sign-in")
    sign_in_with_form(page, reader, password="not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    check(page, "sign-in-error")
    sign_in_with_form(page, reader)
    expect(page.get_by_role("heading", name="No API tokens yet")).to_be_visible()
    check(page, "empty")

    token_of(reader, "Grafana dashboard")
    page.goto(f"{TOKENS_URL}?status=active")
    expect(page.get_by_role("heading", name="No active tokens")).to_be_visible()
    check(page, "empty-active")
    page.goto(f"{TOKENS_URL}?status=revoked")
    expect(page.get_by_role("alert")).to_have_text(re.compile("Unknown status"))
    check(page, "filter-error")

    page.get_by_label("Help", exact=True).click()
    expect(page.get_by_role("link", name="About")).to_be_visible()
    check(page, "help-menu")
    page.get_by_role("link", name="About").click()
    expect(page.get_by_role("heading", name="About", level=1)).to_be_visible()
    check(page, "about")
    page.get_by_role("navigation", name="Main").get_by_text("Settings").click()
    page.get_by_role("link", name="Security extensions").first.click()
    expect(page.get_by_role("heading", name="Security extensions", level=1)).to_be_visible()
    check(page, "security-extensions-reader")
    page.get_by_role("link", name="API tokens").first.click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    page.goto("/help/using-tokens/")
    expect(page.get_by_role("heading", name="Using tokens", level=1)).to_be_visible()
    check(page, "using-tokens")
    page.goto("/help/api/")
    expect(page.get_by_role("heading", name="API reference", level=1)).to_be_visible()
    check(page, "api-reference")


@on_screens(DESKTOP_LIGHT, PHONE_LIGHT, DESKTOP_DARK)
def test_the_full_admin_pages_pass_axe(page_as, full_admin, tokens_of_every_kind, screen, check):
    page = page_as(full_admin, **screen.options)
    page.goto(f"{TOKENS_URL}?status=all&owner=deprovisioned")
    expect(page.get_by_role("button", name="Revoke this token")).to_be_visible()
    check(page, "tokens-deprovisioned")
    page.goto(f"{TOKENS_URL}policy/")
    expect(page.get_by_role("heading", name="Token policy", level=1)).to_be_visible()
    check(page, "token-policy")
    page.get_by_label("Maximum lifetime (days)").fill("30")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("heading", name=re.compile("^Before you save"))).to_be_visible()
    check(page, "token-policy-preview")
    page.goto("/settings/security-extensions/")
    expect(page.get_by_role("heading", name="Security extensions", level=1)).to_be_visible()
    check(page, "security-extensions")
    page.goto(TOKENS_URL)
    page.get_by_role("link", name="Terraform provider").click()
    expect(page.get_by_role("heading", name="Terraform provider", level=1)).to_be_visible()
    check(page, "token-detail")
    page.goto("/settings/audit-log/")
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    check(page, "audit-log")

    for path, heading, button, submit, error in [
        (
            "/settings/security-extensions/siem-agents/",
            "SIEM agents",
            "Add SIEM agent",
            "Add agent",
            "Choose the format your SIEM reads: CEF or JSON lines.",
        ),
        (
            "/settings/log-collectors/",
            "Log collectors",
            "Add log collector",
            "Add collector",
            "Choose the kind of device whose logs it collects.",
        ),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        check(page, heading.lower().replace(" ", "-"))
        page.get_by_role("button", name=button).click()
        dialog = page.get_by_role("dialog", name=button)
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name=submit).click()
        expect(page.get_by_role("dialog", name=button).get_by_text(error)).to_be_visible()
        check(page, heading.lower().replace(" ", "-") + "-add-error")

    page.goto("/settings/identity/")
    expect(page.get_by_role("heading", name="Identity", level=1)).to_be_visible()
    check(page, "identity")
