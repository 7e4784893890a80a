import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser


def header(page, column):
    return page.get_by_role("columnheader", name=re.compile(f"^{column}(?! by)"))


def search_for(page, text):
    search = page.get_by_role("searchbox", name="Search tokens")
    search.fill(text)
    search.press("Enter")


def test_search_sort_and_status_filter_work_together(
    page_as, full_admin, tokens_of_every_kind, token_names, axe_check
):
    page = page_as(full_admin)
    search_for(page, "  contoso.test ")  # every owner's e-mail; spaces around are ignored
    expect(page).to_have_url(re.compile(r"\?status=all&q=\+\+contoso\.test\+$"))
    assert token_names(page) == [
        "CI pipeline",
        "Grafana dashboard",
        "SIEM export",
        "SOAR playbooks",
        "Terraform provider",
        "Legacy sync job",
    ]
    expect(header(page, "Generated")).to_have_attribute("aria-sort", "descending")

    header(page, "Name").get_by_role("link").click()
    expect(header(page, "Name")).to_have_attribute("aria-sort", "ascending")
    assert token_names(page)[:3] == ["CI pipeline", "Grafana dashboard", "Legacy sync job"]
    header(page, "Name").get_by_role("link").click()
    expect(header(page, "Name")).to_have_attribute("aria-sort", "descending")
    assert token_names(page)[0] == "Terraform provider"

    # The status filter keeps the search and the order; a new search keeps both of them.
    status = page.get_by_role("navigation", name="Status")
    status.get_by_role("link", name=re.compile("^Active ")).click()
    expect(page).to_have_url(re.compile(r"\?status=active&q=contoso.test&sort=-name$"))
    assert token_names(page) == [
        "SOAR playbooks",
        "SIEM export",
        "Legacy sync job",
        "Grafana dashboard",
    ]
    expect(page.get_by_role("searchbox", name="Search tokens")).to_have_value("contoso.test")
    search_for(page, "r@")  # operator@, reader@, former@
    expect(page).to_have_url(re.compile(r"\?status=active&q=r%40&sort=-name$"))
    assert token_names(page) == ["SOAR playbooks", "Legacy sync job", "Grafana dashboard"]

    header(page, "Last used").get_by_role("link").click()  # most recently used first
    expect(header(page, "Last used")).to_have_attribute("aria-sort", "descending")
    assert token_names(page) == ["SOAR playbooks", "Legacy sync job", "Grafana dashboard"]
    axe_check(page, "tokens-searched-and-sorted")

    search_for(page, "nothing like it")
    expect(page.get_by_role("heading", name="No token matches “nothing like it”")).to_be_visible()
    page.get_by_role("link", name="Clear the search").click()
    expect(page).to_have_url(re.compile(r"\?status=active&sort=-last_used_at$"))
    assert token_names(page) == [
        "SIEM export",
        "SOAR playbooks",
        "Legacy sync job",
        "Grafana dashboard",
    ]


def test_a_digest_link_narrows_the_table_and_show_all_tokens_widens_it(
    page_as, full_admin, tokens_of_every_kind, token_names, axe_check, snap
):
    from datetime import timedelta

    from django.utils import timezone

    from tokens.models import Token

    soon = timezone.now() + timedelta(days=3)
    Token.objects.filter(name__in=["CI pipeline", "SOAR playbooks"]).update(expires_at=soon)
    page = page_as(full_admin)
    page.goto("/settings/security-extensions/api-tokens/?status=all&expiring=soon")
    expect(page.get_by_role("status")).to_contain_text("Only tokens expiring within 7 days.")
    assert token_names(page) == ["CI pipeline", "SOAR playbooks"]

    # Searching and sorting keep the narrowing.
    search_for(page, "pipe")
    expect(page).to_have_url(re.compile(r"\?status=all&q=pipe&expiring=soon$"))
    assert token_names(page) == ["CI pipeline"]
    search_for(page, "")
    header(page, "Name").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"\?status=all&sort=name&expiring=soon$"))
    axe_check(page, "tokens-expiring-soon")
    snap(page, "tokens-expiring-soon-1280")

    page.get_by_role("link", name="Show all tokens").click()
    expect(page).to_have_url(re.compile(r"\?status=all&sort=name$"))
    assert len(token_names(page)) == 6

    page.goto("/settings/security-extensions/api-tokens/?unused=100")
    expect(page.get_by_role("status")).to_contain_text(
        "Only tokens neither used nor generated in the past 100 days."
    )
    assert token_names(page) == []
    expect(page.get_by_role("heading", name="No token to show")).to_be_visible()


def test_a_phone_sorts_with_the_sort_by_control_and_never_tabs_to_hidden_headers(
    page_as, full_admin, tokens_of_every_kind, token_names
):
    page = page_as(full_admin, viewport=PHONE)
    expect(page.locator("thead")).to_be_hidden()
    sort_by = page.get_by_label("Sort by")
    expect(sort_by).to_be_visible()
    expect(sort_by).to_have_value("-created_at")
    sort_by.select_option(label="Name, A to Z")
    page.get_by_role("button", name="Sort", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?status=all&sort=name$"))
    assert token_names(page)[:3] == ["CI pipeline", "Grafana dashboard", "Legacy sync job"]
    # Every stop of the keyboard is a control a person can see.
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        assert not focused.evaluate("el => !!el.closest('thead')"), "a hidden sort link"
        box = focused.bounding_box()
        if box:
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_the_desktop_names_sort_links_after_their_columns(
    page_as, full_admin, tokens_of_every_kind
):
    page = page_as(full_admin)
    expect(page.get_by_label("Sort by")).to_be_hidden()
    for column in ("Name", "Generated", "Last used"):
        expect(header(page, column).get_by_role("link")).to_have_accessible_name(column)
    expect(header(page, "Generated")).to_have_attribute("aria-sort", "descending")
