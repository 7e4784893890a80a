import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TOKENS_URL = "/settings/security-extensions/api-tokens/"


def choose_status(page, label):
    filters = page.get_by_role("navigation", name="Status")
    filters.get_by_role("link", name=re.compile(f"^{label} ")).click()
    expect(filters.locator("[aria-current=page]")).to_contain_text(label)


def test_a_generated_token_moves_from_generated_to_active_after_one_api_call(
    page_as, operator, token_of, generate_token, token_names, api_get
):
    token_of(operator, "Quarterly report", 90, used_days_ago=30)
    page = page_as(operator)
    secret = generate_token(page, "Deploy bot")
    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Close without copying").click()

    choose_status(page, "Generated")
    assert page.url.endswith("?status=generated")
    assert token_names(page) == ["Deploy bot"]
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_contain_text("Generated")
    choose_status(page, "Active")
    expect(page.get_by_role("heading", name="No active tokens")).to_be_visible()

    assert api_get("/api/v1/me/", secret)[0] == 200
    page.reload()
    assert token_names(page) == ["Deploy bot"]
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_contain_text("Active")
    choose_status(page, "Generated")
    expect(page.get_by_role("heading", name="No unused tokens")).to_be_visible()
    choose_status(page, "Inactive")
    assert token_names(page) == ["Quarterly report"]
    choose_status(page, "All")
    assert token_names(page) == ["Deploy bot", "Quarterly report"]


def test_the_filter_counts_each_status(page_as, full_admin, tokens_of_every_kind):
    page = page_as(full_admin)
    filters = page.get_by_role("navigation", name="Status")
    counts = filters.get_by_role("link").all_inner_texts()
    assert [" ".join(text.split()) for text in counts] == [
        "All 6",
        "Active 4",
        "Inactive 1",
        "Generated 1",
        "Suspended 0",
        "Expired 0",
        "Owner deprovisioned 1",
        "Revoked 0",
    ]


def test_an_unknown_status_in_the_address_gets_a_clear_message(page_as, operator, token_of):
    token_of(operator, "Deploy bot")
    page = page_as(operator)
    page.goto(f"{TOKENS_URL}?status=revoked")
    expect(page.get_by_role("alert")).to_have_text(re.compile("Unknown status “revoked”"))
    expect(page.get_by_role("row", name=re.compile("^Deploy bot"))).to_be_visible()
