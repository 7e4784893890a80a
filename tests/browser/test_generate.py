import http.client
import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tokens.models import Token

pytestmark = pytest.mark.browser

TOKENS_URL = "/settings/security-extensions/api-tokens/"


def test_generate_opens_a_dialog_with_focus_in_the_token_name_field(page_as, operator):
    page = page_as(operator)
    page.get_by_role("button", name="Generate new token").click()
    dialog = page.get_by_role("dialog", name="Generate new token")
    expect(dialog).to_be_visible()
    field = dialog.get_by_label("Token name")
    expect(field).to_be_focused()
    expect(field).to_have_accessible_description(re.compile("Say what will use it"))
    expect(dialog).to_contain_text("read and write")
    assert page.url.endswith(TOKENS_URL)


def test_escape_closes_the_generate_dialog_without_generating(page_as, operator):
    page = page_as(operator)
    page.get_by_role("button", name="Generate new token").click()
    page.get_by_label("Token name").fill("Never mind")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("button", name="Generate new token")).to_be_visible()
    assert not Token.objects.exists()


def test_a_blank_name_shows_the_error_inside_the_dialog(page_as, operator):
    page = page_as(operator)
    page.get_by_role("button", name="Generate new token").click()
    page.get_by_role("button", name="Next").click()
    dialog = page.get_by_role("dialog", name="Generate new token")
    expect(dialog.get_by_text("Enter a name for the token")).to_be_visible()
    field = dialog.get_by_label("Token name")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("Enter a name for the token"))
    assert not Token.objects.exists()


def test_copy_puts_exactly_the_token_on_the_clipboard_and_the_api_accepts_it(
    page_as, operator, custom_url, generate_token, api_get
):
    page = page_as(operator)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=custom_url.rstrip("/")
    )
    shown = generate_token(page, "Deploy bot")
    reveal = page.get_by_role("dialog", name="Copy your new token")
    expect(reveal.get_by_label("Token", exact=True)).to_be_focused()
    expect(reveal).to_contain_text("This token will not be shown again.")
    expect(reveal).to_contain_text(custom_url)

    reveal.get_by_role("button", name="Copy").click()
    expect(reveal.get_by_role("status")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown
    assert re.fullmatch(r"atp_[0-9A-Za-z]{42}", copied)

    status, body = api_get("/api/v1/me/", copied)
    assert status == 200
    assert body["user"] == {"email": operator.email, "role": "security_operator"}
    assert body["token"]["name"] == "Deploy bot"
    assert body["tenant"]["url"] == custom_url


def test_after_done_the_value_is_gone_and_the_token_is_listed(page_as, operator, generate_token):
    page = page_as(operator)
    secret = generate_token(page, "Deploy bot")
    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Close without copying").click()
    # Closing the reveal removes it from the page, value and all (once its close event ran).
    expect(page.locator("#reveal-dialog")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_be_visible()
    assert secret not in page.content()
    assert page.url.endswith(TOKENS_URL)


def test_reloading_the_reveal_does_not_show_the_value_again(page_as, operator, generate_token):
    page = page_as(operator)
    secret = generate_token(page, "Deploy bot")
    page.reload()
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert secret not in page.content()
    assert Token.objects.count() == 1


def test_going_back_and_forward_does_not_show_the_value_again(page_as, operator, generate_token):
    page = page_as(operator)
    secret = generate_token(page, "Deploy bot")
    page.go_back()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    assert secret not in page.content()
    page.go_forward()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert secret not in page.content()
    assert Token.objects.count() == 1


def test_a_read_only_token_for_one_address_is_generated_and_used_from_it(
    page_as, full_admin, live_server, tenant, api_get
):
    page = page_as(full_admin)
    page.get_by_role("button", name="Generate new token").click()
    dialog = page.get_by_role("dialog", name="Generate new token")
    dialog.get_by_label("Token name").fill("Dashboard")
    dialog.get_by_label("Read only").check()
    networks = dialog.get_by_label("Allowed networks")
    expect(networks).to_have_accessible_description(re.compile("calls from anywhere else"))
    networks.fill("127.0.0.1/32")
    dialog.get_by_role("button", name="Next").click()
    reveal = page.get_by_role("dialog", name="Copy your new token")
    expect(reveal).to_contain_text("read only: this token never writes")
    secret = reveal.get_by_label("Token", exact=True).input_value()

    status, body = api_get("/api/v1/me/", secret)  # the live server's client is 127.0.0.1
    assert status == 200
    assert body["token"]["access"] == "read_only"
    assert body["token"]["allowed_networks"] == ["127.0.0.1/32"]
    connection = http.client.HTTPConnection("127.0.0.1", live_server.thread.port, timeout=10)
    try:
        connection.request(
            "DELETE",
            f"/api/v1/tokens/{body['token']['id']}/",
            headers={
                "Host": f"{tenant.host}:{live_server.thread.port}",
                "Authorization": f"Token {secret}",
            },
        )
        response = connection.getresponse()
        assert response.status == 403
        assert json.loads(response.read())["detail"] == "Permission denied: the token is read only."
    finally:
        connection.close()

    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Close without copying").click()
    row = page.get_by_role("row", name=re.compile("^Dashboard"))
    expect(row.get_by_role("cell", name=re.compile("Read only"))).to_be_visible()


def test_a_readers_dialog_has_read_only_checked_and_disabled(page_as, reader):
    page = page_as(reader)
    page.get_by_role("button", name="Generate new token").click()
    box = page.get_by_role("dialog", name="Generate new token").get_by_label("Read only")
    expect(box).to_be_checked()
    expect(box).to_be_disabled()


# --- Closing the reveal (UX round 3, finding 7) ------------------------------------------------


def test_escape_on_an_uncopied_token_asks_before_discarding_it(page_as, operator, generate_token):
    page = page_as(operator)
    secret = generate_token(page, "Deploy bot")
    reveal = page.get_by_role("dialog", name="Copy your new token")
    page.keyboard.press("Escape")
    question = reveal.get_by_role("group", name="Close without copying?")
    expect(question).to_contain_text("The token will not be shown again.")
    expect(question.get_by_role("button", name="Back to the token")).to_be_focused()
    expect(reveal.get_by_role("link", name="Done")).to_be_hidden()
    page.keyboard.press("Escape")  # again: back to the value, still there
    expect(question).to_be_hidden()
    expect(reveal.get_by_label("Token", exact=True)).to_be_focused()
    expect(reveal.get_by_label("Token", exact=True)).to_have_value(secret)

    reveal.get_by_role("link", name="Done").click()
    question.get_by_role("button", name="Back to the token").click()
    expect(reveal.get_by_label("Token", exact=True)).to_have_value(secret)
    reveal.get_by_role("link", name="Done").click()
    question.get_by_role("button", name="Close without copying").click()
    expect(page.locator("#reveal-dialog")).to_have_count(0)
    assert secret not in page.content()
    expect(page.get_by_role("link", name="Deploy bot")).to_be_focused()


def test_once_copied_done_closes_at_once_and_focus_goes_to_the_new_tokens_row(
    page_as, operator, custom_url, generate_token, token_of
):
    token_of(operator, "Older token")
    page = page_as(operator)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=custom_url.rstrip("/")
    )
    generate_token(page, "Deploy bot")
    reveal = page.get_by_role("dialog", name="Copy your new token")
    reveal.get_by_role("button", name="Copy").click()
    expect(reveal.get_by_role("status")).to_have_text("Copied to the clipboard.")
    reveal.get_by_role("link", name="Done").click()
    expect(page.locator("#reveal-dialog")).to_have_count(0)
    expect(page.get_by_role("link", name="Deploy bot")).to_be_focused()


def test_a_value_copied_by_hand_closes_with_escape_at_once(page_as, operator, generate_token):
    page = page_as(operator)
    generate_token(page, "Deploy bot")
    page.get_by_label("Token", exact=True).focus()
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+C")
    page.keyboard.press("Escape")
    expect(page.locator("#reveal-dialog")).to_have_count(0)
    expect(page.get_by_role("link", name="Deploy bot")).to_be_focused()


def test_after_rotating_the_reveal_returns_to_the_same_list_and_the_tokens_row(
    page_as, operator, token_of, custom_url
):
    for name in ("ci two", "ci one", "other"):
        token_of(operator, name)
    page = page_as(operator)
    place = "?status=generated&q=ci&sort=name"
    page.goto(f"{TOKENS_URL}{place}")
    page.get_by_role("button", name="Rotate ci two").click()
    page.get_by_role("dialog", name="Rotate token?").get_by_role(
        "button", name="Rotate token"
    ).click()
    reveal = page.get_by_role("dialog", name="Copy your rotated token")
    expect(reveal).to_be_visible()
    assert page.url == f"{custom_url}{TOKENS_URL.lstrip('/')}{place}"
    reveal.get_by_role("link", name="Done").click()
    reveal.get_by_role("button", name="Close without copying").click()
    expect(page.get_by_role("link", name="ci two")).to_be_focused()
    assert page.locator("tbody .token-name").all_inner_texts() == ["ci one", "ci two"]


def test_a_phone_shows_the_whole_token_value(page_as, operator, generate_token):
    page = page_as(operator, viewport=PHONE)
    secret = generate_token(page, "Phone script")
    field = page.get_by_role("dialog", name="Copy your new token").get_by_label("Token", exact=True)
    # Wrapped over lines inside the field, none of it scrolled out of sight.
    hidden = field.evaluate(
        "el => [el.scrollWidth - el.clientWidth, el.scrollHeight - el.clientHeight]"
    )
    assert hidden[0] <= 1 and hidden[1] <= 1, hidden
    assert field.input_value() == secret and len(secret) > 40
