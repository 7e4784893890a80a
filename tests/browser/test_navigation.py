import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TOKENS_URL = "/settings/security-extensions/api-tokens/"


def test_signing_in_on_the_custom_url_leads_through_settings_to_api_tokens(
    new_page, operator, custom_url, sign_in_with_form
):
    page = new_page()
    page.goto(custom_url)
    assert page.url.startswith(f"{custom_url}login/")
    expect(page.get_by_role("heading", name="Sign in to Contoso")).to_be_visible()
    sign_in_with_form(page, operator)
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()

    menus = page.get_by_role("navigation", name="Main")
    menus.get_by_text("Settings").click()
    # Security extensions holds an operator's API tokens; the menu leads to both.
    menus.get_by_role("link", name="Security extensions").click()
    expect(page.get_by_role("heading", name="Security extensions", level=1)).to_be_visible()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    assert page.url == f"{custom_url}{TOKENS_URL.lstrip('/')}"
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    breadcrumb.get_by_role("link", name="Security extensions").click()
    expect(page.get_by_role("heading", name="Security extensions", level=1)).to_be_visible()
    menus.get_by_text("Settings").click()
    menus.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()


def test_a_wrong_password_keeps_the_person_on_the_sign_in_page_with_a_message(
    new_page, operator, sign_in_with_form
):
    page = new_page()
    page.goto("/login/")
    sign_in_with_form(page, operator, password="not the password")
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    expect(page.get_by_label("Email")).to_have_value(operator.email)


def test_help_about_shows_the_custom_url_and_copies_it(page_as, reader, custom_url):
    page = page_as(reader)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=custom_url.rstrip("/")
    )
    help_menu = page.get_by_label("Help", exact=True)
    expect(help_menu).to_have_text("?")
    help_menu.click()
    page.get_by_role("link", name="About").click()
    expect(page.get_by_role("heading", name="About", level=1)).to_be_visible()
    expect(page.get_by_role("textbox", name="Custom URL")).to_have_value(custom_url)
    assert re.fullmatch(r"http://contoso\.us\.portal\.localhost:\d+/", custom_url)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == custom_url


def test_signing_out_ends_the_session(page_as, reader, snap):
    page = page_as(reader)
    page.get_by_role("navigation", name="Main").get_by_text(reader.email, exact=True).click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Contoso")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    snap(page, "signed-out-1280")
    page.goto(TOKENS_URL)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_the_pages_and_their_script_work_under_the_portals_own_csp(page_as, operator, token_of):
    # The other tests bypass the CSP to inject axe-core; this one keeps it, so an inline
    # script or style attribute sneaking into a template fails here.
    token_of(operator, "Deploy bot")
    page = page_as(operator, bypass_csp=False)
    violations = []

    def record(message):
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", record)
    page.reload()
    page.get_by_role("button", name="Generate new token").click()
    expect(page.get_by_label("Token name")).to_be_focused()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Revoke Deploy bot").click()
    expect(page.get_by_role("dialog", name="Revoke token?")).to_be_visible()
    assert violations == []
