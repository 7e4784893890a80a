"""Issue 28, item 3 in a browser: rotate with an overlap from the list's dialog, use the old
value, then the new one, and see the old one refused and the table's Rotating note gone."""

import pytest
from playwright.sync_api import expect

from tests.api import api_client

pytestmark = pytest.mark.browser

ME = "/api/v1/me/"


def test_rotating_with_an_overlap_keeps_the_old_value_until_the_new_ones_first_call(
    page_as, operator, token_of, axe_check, snap
):
    _, old = token_of(operator, "Deploy bot")
    page = page_as(operator)
    page.get_by_role("button", name="Rotate Deploy bot").click()
    dialog = page.get_by_role("dialog", name="Rotate token?")
    stops = dialog.get_by_label("The old value stops")
    expect(stops).to_have_value("86400")  # 24 hours unless picked otherwise
    stops.select_option(label="After 1 hour")
    snap(page, "rotate-overlap-dialog")
    axe_check(page, "rotate-overlap-dialog")
    dialog.get_by_role("button", name="Rotate token").click()
    reveal = page.get_by_role("dialog", name="Copy your rotated token")
    expect(reveal).to_contain_text("the old value works until")
    new = reveal.get_by_label("Token", exact=True).input_value()
    reveal.get_by_role("link", name="Done").click()
    rotating = page.get_by_text("Rotating — old secret valid until")
    expect(rotating).to_be_visible()
    snap(page, "tokens-rotating")
    axe_check(page, "tokens-rotating")

    assert api_client(old).get(ME).status_code == 200  # the overlap
    assert api_client(new).get(ME).status_code == 200  # the new value's first call...
    assert api_client(old).get(ME).status_code == 401  # ...ends the old one
    page.reload()
    expect(page.get_by_role("link", name="Deploy bot")).to_be_visible()
    expect(page.get_by_text("Rotating —")).to_have_count(0)
