import re

import pytest
from playwright.sync_api import expect

from tokens.models import Token

pytestmark = pytest.mark.browser

TOKENS_URL = "/settings/security-extensions/api-tokens/"


def test_revoke_asks_for_confirmation_and_cancel_keeps_the_token(page_as, operator, token_of):
    token_of(operator, "Deploy bot")
    page = page_as(operator)
    page.get_by_role("button", name="Revoke Deploy bot").click()
    dialog = page.get_by_role("dialog", name="Revoke token?")
    expect(dialog).to_contain_text("Revoke Deploy bot?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_be_visible()
    assert Token.objects.live().count() == 1


def test_confirming_revoke_removes_the_row_and_the_api_refuses_the_token(
    page_as, operator, token_of, api_get
):
    token_of(operator, "Deploy bot")
    _, secret = token_of(operator, "Backup script", used_days_ago=20)
    assert api_get("/api/v1/me/", secret)[0] == 200
    page = page_as(operator)
    page.goto(f"{TOKENS_URL}?status=active")
    page.get_by_role("button", name="Revoke Backup script").click()
    page.get_by_role("dialog", name="Revoke token?").get_by_role(
        "button", name="Revoke token"
    ).click()

    expect(page.get_by_role("status")).to_have_text(
        "Token “Backup script” was revoked. Calls with it now fail."
    )
    expect(page.get_by_role("row", name=re.compile("^Backup script"))).to_have_count(0)
    assert page.url.endswith("?status=active")
    status, body = api_get("/api/v1/me/", secret)
    assert status == 401
    assert body["detail"]
    page.goto(f"{TOKENS_URL}?status=all")
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_be_visible()


PLACE = "?status=generated&q=ci&sort=name"


@pytest.mark.parametrize("javascript", [True, False], ids=["dialog", "without JavaScript"])
def test_revoking_keeps_the_status_search_and_order_of_the_list(
    page_as, operator, token_of, token_names, custom_url, javascript
):
    for name in ("ci two", "ci one", "other"):
        token_of(operator, name)
    page = page_as(operator, java_script_enabled=javascript)
    page.goto(f"{TOKENS_URL}{PLACE}")
    assert token_names(page) == ["ci one", "ci two"]
    if not javascript:
        page.get_by_role("button", name="Revoke ci one").click()
        expect(page.get_by_role("heading", name="Revoke token?", level=1)).to_be_visible()
        page.get_by_role("link", name="Cancel").click()
        assert page.url == f"{custom_url}{TOKENS_URL.lstrip('/')}{PLACE}"
    page.get_by_role("button", name="Revoke ci one").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status")).to_contain_text("“ci one” was revoked")
    assert page.url == f"{custom_url}{TOKENS_URL.lstrip('/')}{PLACE}"
    assert token_names(page) == ["ci two"]


def test_a_revoke_after_the_session_expired_says_so_and_signing_in_returns_to_the_list(
    page_as, operator, token_of, token_names, custom_url, sign_in_with_form
):
    from django.contrib.sessions.models import Session

    for name in ("ci two", "ci one", "other"):
        token_of(operator, name)
    page = page_as(operator)
    page.goto(f"{TOKENS_URL}{PLACE}")
    Session.objects.all().delete()  # expired on the server while the page stayed open
    page.get_by_role("button", name="Revoke ci one").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your session expired, so the token was not revoked. Sign in and try again."
    )
    assert Token.objects.live().count() == 3
    sign_in_with_form(page, operator)
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    assert page.url == f"{custom_url}{TOKENS_URL.lstrip('/')}{PLACE}"
    assert token_names(page) == ["ci one", "ci two"]
