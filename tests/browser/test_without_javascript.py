import re

import pytest
from playwright.sync_api import expect

from tokens.models import Token

pytestmark = pytest.mark.browser

TOKENS_URL = "/settings/security-extensions/api-tokens/"


def test_without_javascript_generate_is_a_page_and_next_reveals_the_token(
    page_as, operator, custom_url, api_get
):
    page = page_as(operator, java_script_enabled=False)
    page.get_by_role("button", name="Generate new token").click()
    expect(page).to_have_url(re.compile(r"/api-tokens/new/\??$"))
    form = page.get_by_role("dialog", name="Generate new token")
    expect(form.get_by_label("Token name")).to_be_visible()
    form.get_by_label("Token name").fill("Plain page bot")
    form.get_by_role("button", name="Next").click()

    reveal = page.get_by_role("dialog", name="Copy your new token")
    expect(reveal).to_contain_text("This token will not be shown again.")
    expect(reveal.get_by_role("button", name="Copy")).to_be_hidden()
    secret = reveal.get_by_label("Token", exact=True).input_value()
    assert api_get("/api/v1/me/", secret)[0] == 200
    reveal.get_by_role("link", name="Done").click()
    assert page.url == f"{custom_url}{TOKENS_URL.lstrip('/')}"
    expect(page.get_by_role("row", name=re.compile("^Plain page bot"))).to_be_visible()
    assert secret not in page.content()


def test_without_javascript_a_blank_name_shows_the_error_on_the_generate_page(page_as, operator):
    page = page_as(operator, java_script_enabled=False)
    page.get_by_role("button", name="Generate new token").click()
    page.get_by_role("button", name="Next").click()
    form = page.get_by_role("dialog", name="Generate new token")
    expect(form.get_by_text("Enter a name for the token")).to_be_visible()
    assert not Token.objects.exists()


def test_without_javascript_revoke_leads_to_a_confirmation_page(
    page_as, operator, token_of, api_get
):
    token_of(operator, "Deploy bot")
    _, secret = token_of(operator, "Backup script")
    page = page_as(operator, java_script_enabled=False)
    page.get_by_role("button", name="Revoke Backup script").click()
    expect(page.get_by_role("heading", name="Revoke token?", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Revoke Backup script")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("row", name=re.compile("^Backup script"))).to_be_visible()

    page.get_by_role("button", name="Revoke Backup script").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status")).to_contain_text("“Backup script” was revoked")
    expect(page.get_by_role("row", name=re.compile("^Backup script"))).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_be_visible()
    assert api_get("/api/v1/me/", secret)[0] == 401
