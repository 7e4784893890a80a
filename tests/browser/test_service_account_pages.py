"""A service account's whole life in a browser (CONTRACT §15, issue 28): a full admin creates
it, generates its token on its page (shown once, copied), a script calls the API with it, its
sponsor leaves, the page and the list say No sponsor, a new sponsor clears the flag. The list
and the account page pass axe-core and the layout checks at 375 and 1280 px; their screenshots
are saved in test-artifacts/screenshots/ (service-account-*.png, service-accounts-*.png)."""

import re

import pytest
from playwright.sync_api import expect

from tenants.services import service_account_create, user_deprovision
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE
from tests.browser.layout import layout_problems
from tokens.models import Token

pytestmark = pytest.mark.browser

LIST = "/settings/security-extensions/service-accounts/"
WIDTHS = {"375": PHONE, "1280": DESKTOP}
FLAG = "No sponsor"


def _shots_and_checks(page, name, axe_check):
    """The page at both widths: layout problems found, axe-core, and a full-page screenshot
    test-artifacts/screenshots/<name>-<width>.png."""
    problems = []
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        state = f"{name}-{width}"
        problems += layout_problems(page, state)
        axe_check(page, state)
        page.evaluate("document.activeElement && document.activeElement.blur()")
        folder = ARTIFACTS / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"{state}.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    return problems


def test_a_full_admin_runs_a_service_account_from_creation_to_a_new_sponsor(
    page_as, full_admin, operator, reader, custom_url, api_get, axe_check
):
    page = page_as(full_admin)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=custom_url.rstrip("/")
    )
    page.goto(LIST)
    expect(page.get_by_role("heading", name="No service accounts yet")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("ci-deploy")
    page.get_by_label("Description").fill("Deploys the portal from the CI pipeline")
    page.get_by_label("Role").select_option(label="Security operator")
    page.get_by_label("Sponsor").select_option(label=operator.email)
    page.get_by_role("button", name="Create service account").click()
    expect(page.get_by_text("Created service account ci-deploy.")).to_be_visible()

    page.get_by_role("link", name="ci-deploy").click()
    expect(page.get_by_role("heading", name="ci-deploy", level=1)).to_be_visible()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    page.get_by_label("Token name").fill("Deploys")
    page.get_by_role("button", name="Generate token").click()
    reveal = page.get_by_role("dialog", name="Copy your new token")
    expect(reveal).to_contain_text("This token will not be shown again.")
    reveal.get_by_role("button", name="Copy").click()
    expect(reveal.get_by_role("status")).to_have_text("Copied to the clipboard.")
    secret = page.evaluate("navigator.clipboard.readText()")
    assert secret == reveal.get_by_label("Token", exact=True).input_value()
    reveal.get_by_role("link", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.url == custom_url.rstrip("/") + LIST + "ci-deploy/"
    expect(page.get_by_role("link", name="Deploys")).to_be_visible()
    assert secret not in page.content()

    status, body = api_get("/api/v1/me/", secret)
    assert status == 200
    assert body["user"] == {
        "email": "ci-deploy@service-account.invalid",
        "role": "security_operator",
    }

    # The sponsor leaves (no page deprovisions people: SCIM or the command does).
    user_deprovision(user=operator)
    page.reload()
    flag = page.get_by_role("note")
    expect(flag).to_contain_text(f"{FLAG} since")
    expect(flag).to_contain_text(re.compile(r"Its tokens will be refused from .* \(in 30 days\)"))
    problems = _shots_and_checks(page, "service-account-no-sponsor", axe_check)
    page.goto(LIST)
    row = page.get_by_role("row", name=re.compile("ci-deploy"))
    expect(row.get_by_text(FLAG, exact=True)).to_be_visible()
    expect(row.get_by_role("cell", name="1", exact=True)).to_be_visible()
    problems += _shots_and_checks(page, "service-accounts-no-sponsor", axe_check)

    row.get_by_role("link", name=re.compile("Name a new sponsor")).click()
    page.get_by_label("New sponsor").select_option(label=reader.email)
    page.get_by_role("button", name="Save sponsor").click()
    expect(page.get_by_text(f"{reader.email} now sponsors ci-deploy.")).to_be_visible()
    expect(page.get_by_text(FLAG)).to_have_count(0)
    assert api_get("/api/v1/me/", secret)[0] == 200
    problems += _shots_and_checks(page, "service-account", axe_check)
    page.goto(LIST)
    expect(page.get_by_role("row", name=re.compile("ci-deploy")).get_by_text(FLAG)).to_have_count(0)
    problems += _shots_and_checks(page, "service-accounts", axe_check)
    assert not problems, "\n".join(problems)
    assert Token.objects.get().owner.service_account.name == "ci-deploy"


def test_a_bad_token_name_is_refused_on_the_account_page(page_as, full_admin, axe_check):
    service_account_create(
        tenant=full_admin.tenant, name="reports", role="security_reader", sponsor=full_admin
    )
    page = page_as(full_admin)
    page.goto(f"{LIST}reports/")
    page.get_by_role("button", name="Generate token").click()
    field = page.get_by_label("Token name")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("Enter a name for the token"))
    expect(page.get_by_label("Read only")).to_be_disabled()
    axe_check(page, "service-account-generate-error-1280")
    assert not Token.objects.exists()
