"""Per-day usage charts (issue 19): the token page's chart of requests and refused calls, and
the API usage overview for full admins. The charts' figures are the recorded calls."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api import api_client
from tokens import charts, pending, usage
from tokens.models import TokenKind, TokenUsage

OVERVIEW = "/settings/security-extensions/api-usage/"
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


def bars(chart):
    return {column.day_label: column.cells for column in chart.columns}


# -- Geometry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("busiest", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (11, [0, 5, 10, 15]),
        (200, [0, 50, 100, 150, 200]),
        (820, [0, 200, 400, 600, 800, 1000]),
        (5648, [0, 2000, 4000, 6000]),
    ],
)
def test_the_scale_ticks_are_whole_numbers_a_round_step_apart_up_to_the_busiest_day(busiest, ticks):
    assert charts.scale_steps(busiest) == ticks


def test_the_dates_under_a_chart_are_its_mondays():
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
    chart = charts.stacked_bars(
        days, [charts.Series("Answered", "tone-requests", [1] * 30)], subject="Calls"
    )
    assert chart.day_ticks == ["2 Nov", "9 Nov", "16 Nov", "23 Nov", "30 Nov"]
    assert chart.columns[1].tick == "2 Nov" and chart.columns[2].tick == ""
    assert chart.columns[0].day_label == "Sun 1 Nov"  # the table and each bar's name


def test_bars_stack_bottom_up_and_scale_to_the_busiest_day():
    days = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    chart = charts.stacked_bars(
        days,
        [
            charts.Series("Answered", "tone-requests", [150, 0, 40]),
            charts.Series("Refused", "tone-refused", [50, 0, 0]),
        ],
        subject="Calls",
    )
    first, empty, third = chart.columns
    assert chart.scale == [0, 50, 100, 150, 200]
    assert chart.grid == [75, 50, 25, 0]  # a dashed line at each tick above the axis
    assert [(s.tone, s.y, s.height) for s in first.segments] == [
        ("tone-requests", 25, 75),
        ("tone-refused", 0, 25),
    ]
    assert empty.segments == [] and empty.total == 0  # a day without calls: a zero bar
    assert third.segments[0].height == 20
    assert first.title == "Sun 1 Nov: 200 calls (Answered 150, Refused 50)"
    assert empty.title == "Mon 2 Nov: 0 calls"
    assert chart.label == ("Calls per day (UTC), last 3 days: 240 in all, busiest 1 Nov with 200")


def test_a_day_with_one_call_says_call():
    chart = charts.stacked_bars(
        [date(2026, 11, 1)], [charts.Series("Answered", "tone-requests", [1])], subject="Calls"
    )
    assert chart.columns[0].title == "Sun 1 Nov: 1 call"


def test_a_chart_without_calls_says_so():
    chart = charts.stacked_bars(
        [date(2026, 11, 1)], [charts.Series("Answered", "tone-requests", [0])], subject="Calls"
    )
    assert chart.label == "Calls per day (UTC), last 1 days: none"
    assert chart.empty and chart.scale == [0, 1]  # no 0.5 tick


# -- The token's chart is its recorded calls -------------------------------------------------


def test_the_token_chart_is_the_recorded_calls_with_zero_days(issue, operator):
    token, _ = issue(operator)
    start = NOW - timedelta(days=3)
    for _ in range(4):
        usage.record_use(token, "192.0.2.1", now=start)
    usage.record_refusal(token, now=start)
    pending.flush_all(now=start)
    usage.record_use(token, "192.0.2.1", now=NOW)
    pending.flush_all(now=NOW)

    chart = usage.token_chart(token, now=NOW)
    assert len(chart.columns) == 30
    assert chart.columns[0].day_label == "Sun 1 Nov" and chart.columns[-1].day_label == "Mon 30 Nov"
    assert bars(chart)["Fri 27 Nov"] == [("Answered", 4), ("Refused", 1)]
    assert bars(chart)["Mon 30 Nov"] == [("Answered", 1), ("Refused", 0)]
    assert bars(chart)["Sat 28 Nov"] == [("Answered", 0), ("Refused", 0)]
    assert sum(column.total for column in chart.columns) == 6
    assert chart.label == (
        "Calls per day (UTC), last 30 days: 6 in all, busiest 27 Nov with 5; 1 refused"
    )


def test_days_are_utc_days_and_the_window_is_the_last_30(issue, operator, settings):
    settings.TIME_ZONE = "America/Los_Angeles"  # pages show UTC; days are UTC days too
    token, _ = issue(operator)
    just_before_midnight = datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC)
    usage.record_use(token, None, now=just_before_midnight)
    pending.flush_all(now=just_before_midnight)
    usage.record_use(token, None, now=just_before_midnight + timedelta(seconds=2))
    pending.flush_all(now=just_before_midnight + timedelta(seconds=2))
    TokenUsage.objects.create(token=token, day=date(2026, 10, 31), requests=99)  # 31 days ago
    TokenUsage.objects.create(token=token, day=date(2026, 11, 1), requests=7)  # 30th day

    chart = usage.token_chart(token, now=NOW)
    assert bars(chart)["Sun 29 Nov"] == [("Answered", 1), ("Refused", 0)]
    assert bars(chart)["Mon 30 Nov"] == [("Answered", 1), ("Refused", 0)]
    assert bars(chart)["Sun 1 Nov"] == [("Answered", 7), ("Refused", 0)]
    assert "Sat 31 Oct" not in bars(chart)


def test_refused_calls_of_a_recognised_token_are_counted_without_a_write_each(issue, operator):
    token, secret = issue(operator, allowed_networks=["10.0.0.0/8"])
    client = api_client(secret)
    assert client.get("/api/v1/me/", REMOTE_ADDR="10.1.2.3").status_code == 200
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.9")  # refused, and audited once
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.9").status_code == 403
    assert len(queries) == 0
    pending.flush_all()
    today = usage.token_chart(token).columns[-1]
    assert today.cells == [("Answered", 1), ("Refused", 6)]


def test_a_token_refused_by_the_endpoint_and_a_deprovisioned_owners_are_counted(
    issue, full_admin, operator
):
    agent, agent_secret = issue(full_admin, kind=TokenKind.SIEM)
    assert api_client(agent_secret).get("/api/v1/me/").status_code == 403  # not its endpoint
    leaver, leaver_secret = issue(operator)
    operator.deprovision()
    assert api_client(leaver_secret).get("/api/v1/me/").status_code == 403
    pending.flush_all()
    assert usage.token_chart(agent).columns[-1].cells == [("Answered", 0), ("Refused", 1)]
    assert usage.token_chart(leaver).columns[-1].cells == [("Answered", 0), ("Refused", 1)]


def test_the_token_page_shows_the_chart_and_its_table(signed_in, issue, operator):
    token, secret = issue(operator, name="Nightly export")
    api_client(secret).get("/api/v1/me/", REMOTE_ADDR="192.0.2.55")
    pending.flush_all()
    body = signed_in(operator).get(f"/settings/security-extensions/api-tokens/{token.pk}/")
    html = body.content.decode()
    assert 'role="group" aria-label="Calls per day (UTC), last 30 days: 1 in all, busiest' in html
    assert "<summary>Show as table</summary>" in html
    assert '<table class="day-table">' in html  # a table on phones too, not .data-table's cards


def test_each_day_of_a_chart_is_a_named_tab_stop(signed_in, issue, operator):
    token, _ = issue(operator)
    _used(token, timezone.now().date(), requests=3, refused=1)
    html = signed_in(operator).get(f"/settings/security-extensions/api-tokens/{token.pk}/")
    days = re.findall(r'<g class="chart-day" tabindex="0" role="img"><title>([^<]*)</title>',
                      html.content.decode())  # fmt: skip
    assert len(days) == 30
    assert re.fullmatch(r"\w{3} \d+ \w{3}: 4 calls \(Answered 3, Refused 1\)", days[-1])
    assert re.fullmatch(r"\w{3} \d+ \w{3}: 0 calls", days[0])


def test_the_token_page_names_the_unit_and_utc_days(signed_in, issue, operator):
    token, _ = issue(operator)
    _used(token, timezone.now().date(), requests=3)
    html = signed_in(operator).get(f"/settings/security-extensions/api-tokens/{token.pk}/")
    html = html.content.decode()
    assert '<h2 id="chart-title">Calls, last 30 days</h2>' in html
    assert '<p class="chart-unit">Calls per day (UTC)</p>' in html
    assert '<th scope="col">Day (UTC)</th>' in html
    assert '<h2 id="requests-title">Answered calls, last 30 days</h2>' in html
    assert "0.5" not in html.split('class="chart-scale"', 1)[1].split("</div>", 1)[0]


def test_a_token_without_calls_has_a_sentence_not_a_flat_chart(signed_in, issue, operator):
    token, _ = issue(operator)
    html = signed_in(operator).get(f"/settings/security-extensions/api-tokens/{token.pk}/")
    html = html.content.decode()
    assert '<p class="chart-empty">No calls in the last 30 days.</p>' in html
    assert '<svg class="chart-bars"' not in html and "Show as table" not in html


# -- The overview ----------------------------------------------------------------------------


def _used(token, day, requests=0, refused=0):
    TokenUsage.objects.create(token=token, day=day, requests=requests, refused=refused)


def test_the_overview_stacks_the_five_busiest_tokens_and_the_rest_as_other(issue, full_admin):
    today = NOW.date()
    tokens = [issue(full_admin, name=f"Script {n}")[0] for n in range(7)]
    for rank, token in enumerate(tokens):
        _used(token, today, requests=100 - rank)
        _used(token, today - timedelta(days=1), requests=1)
    siem, _ = issue(full_admin, name="SIEM agent", kind=TokenKind.SIEM)
    _used(siem, today, requests=5000)  # not an API token: not on this page

    overview = usage.tenant_usage(full_admin.tenant, now=NOW)
    names = [series.name for series in overview.chart.series]
    assert names == ["Script 0", "Script 1", "Script 2", "Script 3", "Script 4", "Other"]
    last = overview.chart.columns[-1]
    assert last.cells[-1] == ("Other", 95 + 94) and last.total == sum(range(94, 101))
    assert overview.chart.columns[-2].total == 7
    assert overview.chart.columns[0].total == 0
    assert overview.requests == sum(range(94, 101)) + 7
    assert [t.name for t in overview.busiest][:2] == ["Script 0", "Script 1"]
    assert overview.busiest[0].requests_30 == 101


def test_the_overview_lists_tokens_with_refused_calls(issue, full_admin, operator):
    quiet, _ = issue(operator, name="Quiet")
    refused, _ = issue(operator, name="Locked out")
    _used(quiet, NOW.date(), requests=3)
    _used(refused, NOW.date(), refused=12)
    _used(refused, NOW.date() - timedelta(days=30), refused=500)  # too old
    overview = usage.tenant_usage(full_admin.tenant, now=NOW)
    assert [(t.name, t.refused_30) for t in overview.refusing] == [("Locked out", 12)]
    assert [t.name for t in overview.busiest] == ["Quiet"]


def test_the_overview_page_links_each_token(signed_in, issue, full_admin):
    token, _ = issue(full_admin, name="Deploy bot")
    _used(token, timezone.now().date(), requests=40, refused=2)
    html = signed_in(full_admin).get(OVERVIEW).content.decode()
    link = f'href="/settings/security-extensions/api-tokens/{token.pk}/"'
    assert html.count(link) == 2  # busiest, and refused
    assert 'aria-label="Answered calls per day (UTC), last 30 days: 40 in all, busiest' in html


def test_the_overview_heads_its_30_day_total_as_such_and_its_chart_per_utc_day(
    signed_in, issue, full_admin
):
    token, _ = issue(full_admin, name="Deploy bot")
    _used(token, timezone.now().date(), requests=1234)
    html = signed_in(full_admin).get(OVERVIEW).content.decode()
    assert re.search(
        r'<h2 id="requests-title">Answered calls, last 30 days</h2>\s*<p class="stat">1,234</p>',
        html,
    )
    assert "Requests per day" not in html and ">Requests<" not in html
    assert '<p class="chart-unit">Answered calls per day (UTC)</p>' in html
    assert '<th scope="col">Answered calls</th>' in html  # the busiest tokens' column


def test_the_overview_says_when_nothing_was_called(signed_in, full_admin):
    html = signed_in(full_admin).get(OVERVIEW).content.decode()
    assert "No API calls in the last 30 days" in html
    assert '<svg class="chart-bars"' not in html


def test_the_overview_does_not_show_another_tenants_tokens(
    signed_in, issue, other_tenant_admin, full_admin
):
    theirs, _ = issue(other_tenant_admin, name="Their script")
    _used(theirs, timezone.now().date(), requests=10)
    html = signed_in(full_admin).get(OVERVIEW).content.decode()
    assert "Their script" not in html and "No API calls in the last 30 days" in html


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_only_full_admins_see_the_overview(request, signed_in, persona):
    assert signed_in(request.getfixturevalue(persona)).get(OVERVIEW).status_code == 404


def test_full_admins_find_the_overview_in_security_extensions(signed_in, full_admin):
    html = signed_in(full_admin).get("/settings/security-extensions/").content.decode()
    assert f'href="{OVERVIEW}"' in html


def test_the_overview_query_count_does_not_grow_with_tokens_or_days(signed_in, issue, full_admin):
    client = signed_in(full_admin)

    def queries_with(token_count):
        for n in range(token_count):
            token, _ = issue(full_admin, name=f"Batch {token_count}-{n}")
            for days_ago in range(token_count * 3):
                _used(
                    token,
                    timezone.now().date() - timedelta(days=days_ago),
                    requests=n + 1,
                    refused=n % 2,
                )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(OVERVIEW).status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(8)


def test_the_token_page_query_count_does_not_grow_with_days(signed_in, issue, operator):
    token, _ = issue(operator)
    client = signed_in(operator)
    url = f"/settings/security-extensions/api-tokens/{token.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for days_ago in range(30):
        _used(token, timezone.now().date() - timedelta(days=days_ago), requests=days_ago)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)
