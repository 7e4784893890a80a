"""Issue 19, item 3: "used from a new address". A token's first network is its baseline; a
call from a network (IPv4 /24, IPv6 /64) not seen for the token in the past 30 days is
audited once and flags the token until a full admin marks it reviewed. Several processes and
hosts: tests/hosts/test_new_networks_hosts.py."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Action, AuditEvent
from tests.api import api_client
from tests.factories import TokenFactory
from tokens import pending, sightings, usage
from tokens.models import TokenKind, TokenNetwork, TokenUsage
from web.networks import sighting_network

LIST = "/settings/security-extensions/api-tokens/"
OVERVIEW = "/settings/security-extensions/api-usage/"


def alerts(token=None):
    events = AuditEvent.objects.filter(action=Action.TOKEN_NEW_NETWORK)
    return list(events.filter(token=token) if token else events)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),  # IPv4-mapped: its IPv4 network
        ("not an address", None),
        ("", None),
    ],
)
def test_an_address_belongs_to_its_24_or_64(address, network):
    assert sighting_network(address) == network


def test_the_first_network_is_the_baseline_and_raises_nothing(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    assert sightings.note_addresses(token.pk, {"192.0.2.10": now}) == []
    # Another address of the same /24 is the same network.
    assert sightings.note_addresses(token.pk, {"192.0.2.200": now}) == []
    (row,) = TokenNetwork.objects.filter(token=token)
    assert row.baseline and row.flagged_at is None and row.network == "192.0.2.0/24"
    assert alerts() == []


def test_a_new_network_is_audited_once_and_flags_the_token(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.10": now})
    assert sightings.note_addresses(token.pk, {"203.0.113.5": now}) == ["203.0.113.0/24"]
    later = now + timedelta(hours=3)
    assert sightings.note_addresses(token.pk, {"203.0.113.6": later}) == []

    (event,) = alerts(token)
    assert event.client_ip == "203.0.113.5"
    assert "203.0.113.0/24" in event.detail
    assert [seen.network for seen in sightings.unreviewed(token)] == ["203.0.113.0/24"]
    row = TokenNetwork.objects.get(token=token, network="203.0.113.0/24")
    assert (row.first_seen_at, row.last_seen_at) == (now, later)


def test_several_addresses_of_one_network_in_one_flush_are_one_sighting(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.1": now})
    flagged = sightings.note_addresses(
        token.pk,
        {"203.0.113.1": now, "203.0.113.2": now + timedelta(seconds=1), "203.0.113.3": now},
    )
    assert flagged == ["203.0.113.0/24"]
    (event,) = alerts(token)
    assert event.client_ip == "203.0.113.2"  # the latest address seen in it
    row = TokenNetwork.objects.get(network="203.0.113.0/24")
    assert row.last_seen_at == now + timedelta(seconds=1)


def test_the_earliest_of_a_new_tokens_first_addresses_is_its_baseline(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    flagged = sightings.note_addresses(
        token.pk, {"203.0.113.9": now, "192.0.2.1": now - timedelta(seconds=30)}
    )
    assert flagged == ["203.0.113.0/24"]
    assert TokenNetwork.objects.get(token=token, baseline=True).network == "192.0.2.0/24"


def test_ipv6_is_told_apart_by_its_64(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {"2001:db8:1:2::1": now})
    assert sightings.note_addresses(token.pk, {"2001:db8:1:2:ffff::9": now}) == []
    assert sightings.note_addresses(token.pk, {"2001:db8:1:3::1": now}) == ["2001:db8:1:3::/64"]


@pytest.mark.parametrize(("gap_days", "news"), [(29, False), (31, True)])
def test_a_network_is_news_again_after_30_days_without_a_call(operator, gap_days, news):
    token = TokenFactory(owner=operator)
    start = timezone.now() - timedelta(days=40)
    sightings.note_addresses(token.pk, {"192.0.2.1": start})  # the baseline, too
    back = start + timedelta(days=gap_days)
    assert sightings.note_addresses(token.pk, {"192.0.2.1": back}) == (
        ["192.0.2.0/24"] if news else []
    )
    assert len(alerts(token)) == (1 if news else 0)
    row = TokenNetwork.objects.get(token=token)
    assert row.last_seen_at == back and row.first_seen_at == (back if news else start)


def test_an_older_sighting_flushed_late_moves_nothing_back(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.1": now})
    sightings.note_addresses(token.pk, {"192.0.2.1": now - timedelta(minutes=5)})
    assert TokenNetwork.objects.get(token=token).last_seen_at == now


def test_marking_reviewed_clears_the_flag_and_is_audited(operator, full_admin):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.1": now})
    sightings.note_addresses(token.pk, {"203.0.113.1": now, "2001:db8::1": now})
    assert len(sightings.unreviewed(token)) == 2

    assert sightings.mark_reviewed(token, by=full_admin, client_ip="192.0.2.50") == 2
    assert sightings.unreviewed(token) == []
    event = AuditEvent.objects.get(action=Action.TOKEN_NEW_NETWORK_REVIEWED)
    assert event.actor == full_admin and "203.0.113.0/24" in event.detail
    assert sightings.mark_reviewed(token, by=full_admin) == 0  # nothing left: no event
    assert AuditEvent.objects.filter(action=Action.TOKEN_NEW_NETWORK_REVIEWED).count() == 1


def test_calls_through_the_middleware_reach_the_rule_when_counts_are_flushed(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.7")
    client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.7")
    assert not TokenNetwork.objects.exists()  # in memory until the process flushes
    pending.flush_all()
    assert sorted(TokenNetwork.objects.values_list("network", "baseline")) == [
        ("192.0.2.0/24", True),
        ("203.0.113.0/24", False),
    ]
    (event,) = alerts(token)
    assert event.action == "token.new_network" and event.via == "api"


def test_a_refused_call_is_no_sighting(issue, operator):
    from tokens.services import token_set_networks

    token, secret = issue(operator)
    token_set_networks(token=token, allowed_networks=["192.0.2.0/24"], by=operator)
    assert api_client(secret).get("/api/v1/me/", REMOTE_ADDR="203.0.113.7").status_code == 403
    pending.flush_all()
    assert not TokenNetwork.objects.exists()


# --- On the pages ----------------------------------------------------------------------------


@pytest.fixture
def flagged(operator):
    token = TokenFactory(owner=operator, name="nightly export")
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.1": now})
    sightings.note_addresses(token.pk, {"203.0.113.1": now})
    return token


def test_the_row_and_the_page_show_the_flag_until_a_full_admin_reviews(
    flagged, signed_in, full_admin, operator
):
    admin = signed_in(full_admin)
    listing = admin.get(LIST).content.decode()
    assert "New network</a>" in listing
    page = admin.get(f"{LIST}{flagged.pk}/").content.decode()
    assert "Used from a new network" in page and "203.0.113.0/24" in page
    assert "Mark reviewed" in page

    # The owner sees the flag, but only a full admin clears it.
    owner = signed_in(operator)
    page = owner.get(f"{LIST}{flagged.pk}/").content.decode()
    assert "Used from a new network" in page and "Mark reviewed" not in page
    assert owner.post(f"{LIST}{flagged.pk}/review-networks/").status_code == 404
    assert sightings.unreviewed(flagged)

    response = admin.post(f"{LIST}{flagged.pk}/review-networks/", follow=True)
    assert "marked reviewed" in response.content.decode()
    assert "Used from a new network" not in response.content.decode()
    assert "New network</a>" not in admin.get(LIST).content.decode()
    assert admin.get(f"{LIST}{flagged.pk}/review-networks/").status_code == 405


def test_reviewing_another_tenants_token_is_a_404(flagged, signed_in, other_tenant_admin):
    response = signed_in(other_tenant_admin).post(f"{LIST}{flagged.pk}/review-networks/")
    assert response.status_code == 404
    assert sightings.unreviewed(flagged)


def test_the_overview_lists_new_networks_and_links_to_the_token(flagged, signed_in, full_admin):
    html = signed_in(full_admin).get(OVERVIEW).content.decode()
    assert "Tokens used from new networks" in html
    assert f'href="{LIST}{flagged.pk}/"' in html and "203.0.113.0/24" in html
    assert "Not reviewed" in html
    sightings.mark_reviewed(flagged, by=full_admin)
    html = signed_in(full_admin).get(OVERVIEW).content.decode()
    assert "Reviewed" in html and "Not reviewed" not in html


def test_revoking_a_flagged_token_is_its_review(flagged, signed_in, full_admin):
    from audit.models import Via
    from tokens.services import token_revoke

    token_revoke(token=flagged, by=full_admin, via=Via.PAGE)
    admin = signed_in(full_admin)
    page = admin.get(f"{LIST}{flagged.pk}/").content.decode()  # the revoked token's page
    assert "Used from a new network" not in page and "Mark reviewed" not in page
    overview = admin.get(OVERVIEW).content.decode()
    assert "Token revoked" in overview and "Not reviewed" not in overview  # flagged lately
    TokenNetwork.objects.update(flagged_at=timezone.now() - timedelta(days=40))
    assert "203.0.113.0/24" not in admin.get(OVERVIEW).content.decode()  # and not lately


def test_the_tokens_page_flag_costs_no_query_per_row(signed_in, full_admin, operator):
    admin = signed_in(full_admin)
    now = timezone.now()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(LIST).status_code == 200
        return len(captured)

    TokenFactory(owner=operator)
    few = queries()
    for n in range(5):
        token = TokenFactory(owner=operator)
        sightings.note_addresses(token.pk, {f"192.0.{n}.1": now})
        sightings.note_addresses(token.pk, {f"203.0.{n}.1": now})
    assert queries() == few


# --- Several threads at once (what several workers do) -----------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's test database is one connection"
)
def test_racing_flushes_record_each_network_once(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    addresses = {f"10.{n}.0.1": now + timedelta(milliseconds=n) for n in range(6)}
    start = threading.Barrier(8)
    flagged, errors = [], []

    def flush():
        try:
            start.wait()
            flagged.extend(sightings.note_addresses(token.pk, addresses))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=flush) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    rows = TokenNetwork.objects.filter(token=token)
    assert rows.count() == 6 and rows.filter(baseline=True).count() == 1
    baseline = rows.get(baseline=True).network
    assert sorted(flagged) == sorted(set(flagged))  # no network flagged twice
    assert baseline not in flagged and len(flagged) == 5
    assert sorted(e.detail.split()[3] for e in alerts(token)) == sorted(flagged)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's test database is one connection"
)
def test_racing_flushes_of_the_same_known_networks_never_deadlock(operator):
    """Each flush updates its rows in one statement, in an order its plan picks; two that met
    the same rows in different orders would deadlock, so the rows are locked in id order."""
    token = TokenFactory(owner=operator)
    now = timezone.now()
    addresses = [f"10.{n // 250}.{n % 250}.1" for n in range(500)]
    sightings.note_addresses(token.pk, dict.fromkeys(addresses, now))
    start = threading.Barrier(8)
    errors = []

    def flush(number):
        picked = random.Random(number).sample(addresses, 300)
        try:
            start.wait()
            for again in range(3):
                seen = now + timedelta(seconds=10 * again + number)
                sightings.note_addresses(token.pk, dict.fromkeys(picked, seen))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=flush, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    latest = TokenNetwork.objects.filter(token=token).order_by("-last_seen_at")[0]
    assert latest.last_seen_at == now + timedelta(seconds=27)


# --- Where the audit event goes ----------------------------------------------------------------


def test_the_event_reaches_the_audit_log_its_csv_and_api_and_the_siem_feed(
    flagged, signed_in, issue, full_admin
):
    admin = signed_in(full_admin)
    log = admin.get("/settings/audit-log/", {"action": "token.new_network"}).content.decode()
    assert "Token used from a new network" in log and "203.0.113.0/24" in log
    csv = b"".join(admin.get("/settings/audit-log/export.csv").streaming_content).decode()
    assert "token.new_network" in csv and "203.0.113.0/24" in csv

    _, admin_secret = issue(full_admin, name="auditor")
    events = api_client(admin_secret).get("/api/v1/audit/").json()["results"]
    assert any(e["action"] == "token.new_network" for e in events)

    _, siem_secret = issue(full_admin, name="SIEM", kind=TokenKind.SIEM)
    feed = api_client(siem_secret).get("/api/v1/siem/events/").json()["events"]
    (event,) = [e for e in feed if e["action"] == "token.new_network"]
    assert event["token"]["name"] == "nightly export" and event["client_ip"] == "203.0.113.1"
    assert "|token.new_network|Token used from a new network|7|" in event["cef"]


def statements(work):
    with CaptureQueriesContext(connection) as captured:
        work()
    return [query["sql"] for query in captured]


def test_a_steady_flush_costs_three_statements_however_many_networks(operator):
    """A call writes nothing (tokens.pending counts in memory); the flush of a token seen from
    networks it is known from is the day's counts, the addresses, and one UPDATE of them all."""
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {f"10.0.{n}.1": now for n in range(50)})
    events = len(alerts(token))
    assert statements(lambda: usage.record_refusal(token)) == []  # any call: in memory only
    for n in range(50):
        usage.record_use(token, f"10.0.{n}.2", now=now + timedelta(minutes=1))
    written = statements(pending.flush_all)
    assert [sql.split()[0] for sql in written] == ["SELECT", "INSERT", "INSERT", "WITH"]
    assert "UPDATE tokens_tokennetwork" in written[-1]
    assert len(alerts(token)) == events
    assert TokenNetwork.objects.filter(last_seen_at=now + timedelta(minutes=1)).count() == 50


def test_a_flush_of_3000_networks_of_one_token_costs_a_bounded_number_of_statements(operator):
    """Review 3, finding 2: each new network cost about six statements and an audit event,
    so one token called from 3,000 networks stalled a request for 9.9 s. Now a batch of
    addresses costs a few statements, and the day's events stop at five and a summary."""
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.1": now})  # the baseline
    addresses = {f"10.{n // 250}.{n % 250}.1": now + timedelta(milliseconds=n) for n in range(3000)}
    for address, seen in addresses.items():
        usage.record_use(token, address, now=seen)
    written = statements(pending.flush_all)
    assert TokenNetwork.objects.filter(token=token, flagged_at__isnull=False).count() == 3000
    assert len(alerts(token)) == sightings.EVENTS_PER_DAY + 1
    # Which tokens exist and their counts; per batch of addresses the addresses, the 4
    # decisions and the day's count of news; the token, once, for its events.
    batches = -(-3000 // pending.BATCH)
    flush = [sql for sql in written if "audit_" not in sql and "SAVEPOINT" not in sql]
    assert batches <= 12 and len(flush) <= 2 + 6 * batches + 1, flush
    assert len(written) - len(flush) <= 6 * 6  # the six events, a few statements each


def test_a_token_gets_five_events_a_day_then_one_listing_the_rest(operator):
    token = TokenFactory(owner=operator)
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.1": now})
    first = {f"10.0.{n}.1": now + timedelta(seconds=n) for n in range(3)}
    assert len(sightings.note_addresses(token.pk, first)) == 3
    more = {f"10.1.{n}.1": now + timedelta(minutes=1, seconds=n) for n in range(9)}
    assert len(sightings.note_addresses(token.pk, more)) == 9  # all flagged, all news

    details = [event.detail for event in sorted(alerts(token), key=lambda e: e.sequence)]
    assert len(details) == 6
    one_by_one = [detail.split()[3] for detail in details if detail.startswith("First call")]
    assert one_by_one[3:] == ["10.1.0.0/24", "10.1.1.0/24"]  # the day's 4th and 5th, in order
    (summary,) = [detail for detail in details if not detail.startswith("First call")]
    assert summary.startswith("7 more new networks today, past the 5 audited one by one: ")
    assert "10.1.2.0/24" in summary and "10.1.8.0/24" in summary
    assert TokenUsage.objects.get(token=token).new_networks == 12

    # The rest of the day: flagged, no event. The next day: five events again.
    sightings.note_addresses(token.pk, {"10.2.0.1": now + timedelta(minutes=2)})
    assert len(alerts(token)) == 6
    tomorrow = now + timedelta(days=1)
    sightings.note_addresses(token.pk, {"10.3.0.1": tomorrow}, day=tomorrow.date())
    assert len(alerts(token)) == 7
    assert len(sightings.unreviewed(token)) == 14


def test_a_summary_lists_as_many_networks_as_an_event_holds():
    networks = [f"2001:db8:{n:x}:ffff::/64" for n in range(500)]
    detail = sightings._summary(networks)
    assert len(detail) <= AuditEvent._meta.get_field("detail").max_length
    assert detail.startswith("500 more new networks today") and "2001:db8:0:ffff::/64" in detail
    listed = detail.count("::/64")
    assert f" and {500 - listed} more;" in detail
