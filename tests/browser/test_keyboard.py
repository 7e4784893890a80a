import re

import pytest
from playwright.sync_api import expect

from tokens.models import Token

pytestmark = pytest.mark.browser

FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {
    focusVisible: element.matches(":focus-visible"),
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
  };
}"""


def tab_to(page, target, limit=40):
    """Press Tab until target has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def assert_focus_is_visible(page):
    ring = page.evaluate(FOCUS_RING)
    assert ring["focusVisible"]
    assert ring["style"] != "none" and ring["width"] >= 2


def test_the_first_tab_shows_the_skip_link(page_as, operator):
    page = page_as(operator)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_is_visible(page)


def test_a_keyboard_alone_generates_and_revokes_a_token(page_as, operator):
    page = page_as(operator)
    generate = page.get_by_role("button", name="Generate new token")
    tab_to(page, generate)
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Token name")).to_be_focused()
    page.keyboard.type("Keyboard bot")
    page.keyboard.press("Enter")

    reveal = page.get_by_role("dialog", name="Copy your new token")
    expect(reveal.get_by_label("Token", exact=True)).to_be_focused()
    secret = reveal.get_by_label("Token", exact=True).input_value()
    page.keyboard.press("Tab")
    expect(reveal.get_by_role("button", name="Copy")).to_be_focused()
    assert_focus_is_visible(page)
    page.keyboard.press("Escape")
    # Not copied: it asks first, inside the dialog, with the safe choice focused.
    expect(reveal.get_by_role("button", name="Back to the token")).to_be_focused()
    page.keyboard.press("Tab")
    expect(reveal.get_by_role("button", name="Close without copying")).to_be_focused()
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")
    # Closing the reveal removes it from the page, value and all (once its close event ran).
    expect(page.locator("#reveal-dialog")).to_have_count(0)
    assert secret not in page.content()
    expect(page.get_by_role("link", name="Keyboard bot")).to_be_focused()

    revoke = page.get_by_role("button", name="Revoke Keyboard bot")
    tab_to(page, revoke)
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Revoke token?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(revoke).to_be_focused()
    page.keyboard.press("Enter")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(confirm.get_by_role("button", name="Revoke token")).to_be_focused()
    assert_focus_is_visible(page)
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("“Keyboard bot” was revoked")
    expect(page.get_by_role("row", name=re.compile("^Keyboard bot"))).to_have_count(0)
    assert Token.objects.get().is_revoked
