"""A full admin sees how tokens are used (issue 19): the token page's per-day chart and the API
usage overview, each with an accessible name and its figures as a table, axe clean; each day's
figures reachable by keyboard and touch, and the table a compact table on a phone (UX round 3).
The screenshots docs/screenshots/token-usage-chart-1280.png, api-usage-overview-1280.png,
api-usage-new-networks-1280.png and token-new-network-1280.png are these pages."""

import math
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, TOKENS_URL
from tokens import sightings
from tokens.models import TokenClientAddress, TokenUsage

pytestmark = pytest.mark.browser

OVERVIEW = "/settings/security-extensions/api-usage/"
# Calls per weekday (Monday first) of each seeded token, and refused calls per day.
PROFILES = {
    "siem": (820, 0),
    "soar": (260, 30),
    "grafana": (140, 0),
    "terraform": (45, 0),
    "ci": (30, 3),
    "legacy": (0, 18),
}


def seed_thirty_days(tokens):
    """Realistic usage: busy weekdays, quiet weekends, a little day-to-day variation."""
    today = timezone.now().date()
    rows = []
    for key, (busy, refused) in PROFILES.items():
        for days_ago in range(30):
            day = today - timedelta(days=days_ago)
            weekend = day.weekday() >= 5
            wave = 1 + 0.25 * math.sin(days_ago * 1.3 + len(key))
            requests = round(busy * wave * (0.2 if weekend else 1))
            rows.append(
                TokenUsage(
                    token=tokens[key][0], day=day, requests=requests,
                    refused=round(refused * wave) if days_ago < 12 else 0,
                )
            )  # fmt: skip
    TokenUsage.objects.bulk_create(rows)
    now = timezone.now()
    # SOAR runs from 198.51.100.0/24 (its baseline) and was called from 203.0.113.0/24 two
    # days ago; Grafana moved to a new network a week ago (reviewed in the overview test).
    for key, sightings_of_token in {
        "soar": ((40000, "198.51.100.24"), (95, "198.51.100.31"), (2900, "203.0.113.7")),
        "grafana": ((40000, "192.0.2.10"), (10000, "192.0.2.11"), (9000, "100.64.12.9")),
    }.items():
        token = tokens[key][0]
        for minutes, address in sightings_of_token:
            seen = now - timedelta(minutes=minutes)
            TokenClientAddress.objects.create(token=token, address=address, last_seen_at=seen)
            sightings.note_addresses(token.pk, {address: seen})


def test_a_token_page_charts_its_calls_per_day(page_as, full_admin, tokens_of_every_kind,
                                                axe_check, snap):  # fmt: skip
    seed_thirty_days(tokens_of_every_kind)
    page = page_as(full_admin)
    page.goto(f"/settings/security-extensions/api-tokens/{tokens_of_every_kind['soar'][0].pk}/")

    chart = page.get_by_role("group", name="Calls per day (UTC), last 30 days:")
    expect(chart).to_be_visible()
    expect(chart).to_have_accessible_name(
        # the busiest day and the refused calls are read out with the total
        re.compile(r"^Calls per day \(UTC\), last 30 days: [\d,]+ in all, busiest \d+ \w{3} "
                   r"with [\d,]+; [\d,]+ refused$")
    )  # fmt: skip
    expect(page.get_by_role("listitem").filter(has_text="Refused")).to_be_visible()
    table = page.get_by_role("table", name="Calls per day (UTC) with this token, last 30 days")
    expect(table).to_be_hidden()
    axe_check(page, "token-usage-chart-1280")
    snap(page, "token-usage-chart-1280")

    page.get_by_text("Show as table").click()
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(31)  # a header and 30 days, empty ones too
    expect(table.get_by_role("columnheader")).to_have_text(
        ["Day (UTC)", "Answered", "Refused", "Total"]
    )
    axe_check(page, "token-usage-table-1280")


def test_the_api_usage_overview_for_a_full_admin(page_as, full_admin, tokens_of_every_kind,
                                                 axe_check, snap):  # fmt: skip
    seed_thirty_days(tokens_of_every_kind)
    page = page_as(full_admin)
    menus = page.get_by_role("navigation", name="Main")
    menus.get_by_text("Settings").click()
    menus.get_by_role("link", name="API usage").click()
    expect(page.get_by_role("heading", name="API usage", level=1)).to_be_visible()

    chart = page.get_by_role("group", name="Answered calls per day (UTC), last 30 days:")
    expect(chart).to_be_visible()
    legend = page.get_by_role("list", name="Legend")
    expect(legend.get_by_role("listitem")).to_have_text(
        ["SIEM export", "SOAR playbooks", "Grafana dashboard", "Terraform provider",
         "CI pipeline"]
    )  # fmt: skip
    refused = page.get_by_role("table", name="API tokens with refused calls, last 30 days")
    expect(refused.get_by_role("link")).to_have_text(
        ["SOAR playbooks", "Legacy sync job", "CI pipeline"]
    )
    sightings.mark_reviewed(tokens_of_every_kind["grafana"][0], by=full_admin)
    page.reload()
    new = page.get_by_role("table", name=re.compile("^API tokens used from new networks"))
    # Not reviewed first, then the reviewed ones, each linking to its token.
    expect(new.get_by_role("link")).to_have_text(["SOAR playbooks", "Grafana dashboard"])
    expect(new.get_by_role("row").nth(1)).to_contain_text("203.0.113.0/24")
    expect(new.get_by_role("row").nth(1)).to_contain_text("Not reviewed")
    expect(new.get_by_role("row").nth(2)).to_contain_text("Reviewed")
    expect(new.get_by_role("row").nth(2)).to_contain_text(full_admin.email)
    axe_check(page, "api-usage-overview-1280")
    page.get_by_role("heading", name="Tokens used from new networks").scroll_into_view_if_needed()
    snap(page, "api-usage-new-networks-1280")
    page.evaluate("scrollTo(0, 0)")
    snap(page, "api-usage-overview-1280")

    page.get_by_text("Show as table").click()
    by_day = page.get_by_role("table", name="Answered calls per day (UTC), last 30 days, by token")
    expect(by_day.get_by_role("row")).to_have_count(31)
    axe_check(page, "api-usage-overview-table-1280")

    # On a phone in dark mode the chart scales to the width and the legend wraps.
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="dark")
    page.get_by_text("Show as table").click()
    expect(chart).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    axe_check(page, "api-usage-overview-375-dark")
    snap(page, "api-usage-overview-375-dark")
    page.set_viewport_size(DESKTOP)

    busiest = page.get_by_role("table", name="Busiest API tokens, last 30 days")
    busiest.get_by_role("link", name="SIEM export").click()
    expect(page.get_by_role("heading", name="SIEM export", level=1)).to_be_visible()


def tab_from_the_charts_heading(page):
    """Press Tab as someone reading the page would, having reached the chart's heading."""
    page.locator("#chart-title").evaluate("heading => { heading.tabIndex = -1; heading.focus(); }")
    page.keyboard.press("Tab")


def test_on_a_phone_a_charts_table_is_a_compact_table_not_a_card_per_day(
    page_as, full_admin, tokens_of_every_kind, axe_check, snap
):
    seed_thirty_days(tokens_of_every_kind)
    page = page_as(full_admin, viewport=PHONE)
    page.goto(f"{TOKENS_URL}{tokens_of_every_kind['soar'][0].pk}/")
    page.get_by_text("Show as table").click()
    table = page.get_by_role("table", name="Calls per day (UTC) with this token, last 30 days")
    expect(table.get_by_role("row")).to_have_count(31)
    expect(table.get_by_role("columnheader", name="Total")).to_be_visible()  # a header row
    box = table.bounding_box()
    assert box["height"] < 1200  # 30 short rows, not 30 cards
    assert box["x"] + box["width"] <= PHONE["width"]  # every column in sight, nothing scrolls
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    axe_check(page, "token-usage-table-375")
    snap(page, "token-usage-table-375")

    # The overview's table, a column per busy token, scrolls in its box; the page does not.
    page.goto(OVERVIEW)
    page.get_by_text("Show as table").click()
    by_day = page.get_by_role("table", name="Answered calls per day (UTC), last 30 days, by token")
    assert by_day.bounding_box()["height"] < 1200
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    axe_check(page, "api-usage-table-375")


def test_each_days_figures_are_reachable_by_keyboard(page_as, full_admin, tokens_of_every_kind):
    seed_thirty_days(tokens_of_every_kind)
    page = page_as(full_admin)
    page.goto(f"{TOKENS_URL}{tokens_of_every_kind['soar'][0].pk}/")
    tab_from_the_charts_heading(page)
    today = timezone.now().date()
    focused = page.locator(":focus")
    # The latest day first, named by its date and count.
    expect(focused).to_have_accessible_name(
        re.compile(rf"^{today:%a} {today.day} {today:%b}: [\d,]+ calls")
    )
    page.keyboard.press("ArrowLeft")
    yesterday = today - timedelta(days=1)
    expect(focused).to_have_accessible_name(
        re.compile(rf"^{yesterday:%a} {yesterday.day} {yesterday:%b}: [\d,]+ calls")
    )
    name = focused.evaluate("bar => bar.getAttribute('aria-label')")
    expect(page.locator("[data-chart-tip]")).to_have_text(name)  # shown beside the bar too
    page.keyboard.press("Tab")  # the chart is one Tab stop: on to the table
    expect(page.get_by_text("Show as table")).to_be_focused()


def test_a_tap_on_a_bar_shows_its_days_figures(page_as, full_admin, tokens_of_every_kind):
    seed_thirty_days(tokens_of_every_kind)
    page = page_as(full_admin, viewport=PHONE, has_touch=True)
    page.goto(OVERVIEW)
    bars = page.get_by_role("group", name=re.compile("^Answered calls per day")).get_by_role("img")
    expect(bars).to_have_count(30)
    bars.nth(9).tap()
    tip = page.locator("[data-chart-tip]")
    expect(tip).to_be_visible()
    expect(tip).to_have_text(re.compile(r"^\w{3} \d+ \w{3}: [\d,]+ answered calls \(SIEM export"))


def test_without_javascript_each_bar_is_a_named_tab_stop(page_as, full_admin, tokens_of_every_kind):
    seed_thirty_days(tokens_of_every_kind)
    page = page_as(full_admin)
    page.route("**/portal.js", lambda route: route.abort())
    page.goto(f"{TOKENS_URL}{tokens_of_every_kind['soar'][0].pk}/")
    tab_from_the_charts_heading(page)
    expect(page.locator(":focus")).to_have_accessible_name(re.compile(r"^\w{3} \d+ \w{3}: "))
    expect(page.get_by_text("Show as table")).to_be_visible()


def test_a_token_used_from_a_new_network_is_flagged_until_a_full_admin_reviews_it(
    page_as, full_admin, tokens_of_every_kind, axe_check, snap
):
    seed_thirty_days(tokens_of_every_kind)
    page = page_as(full_admin)
    page.goto("/settings/security-extensions/api-tokens/")
    flag = page.get_by_role("link", name="New network: SOAR playbooks")
    expect(flag).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^New network"))).to_have_count(2)
    flag.click()

    notice = page.get_by_role("region", name="Used from a new network")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("203.0.113.0/24")
    expect(notice).not_to_contain_text("198.51.100.0/24")  # the baseline is no news
    history = page.get_by_role("table", name="History of SOAR playbooks")
    expect(history).to_contain_text("Token used from a new network")
    axe_check(page, "token-new-network-1280")
    page.evaluate("scrollTo(0, 0)")  # the flag's link went to the notice
    snap(page, "token-new-network-1280")

    notice.get_by_role("button", name="Mark reviewed").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("marked reviewed")
    expect(page.get_by_role("region", name="Used from a new network")).to_have_count(0)
    expect(history).to_contain_text("New network reviewed")
    page.goto("/settings/security-extensions/api-tokens/")
    expect(page.get_by_role("link", name=re.compile("^New network"))).to_have_count(1)
