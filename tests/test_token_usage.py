from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api import api_client
from tokens import usage
from tokens.models import TokenUsage


def test_counts_and_addresses_are_kept_without_a_write_per_request(issue, operator, settings):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.10")
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.10")  # reloads after first use's bump
    with CaptureQueriesContext(connection) as queries:
        for _ in range(19):
            client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.11")
    assert len(queries) == 0
    usage.flush_all()
    assert usage.requests_last_30_days(token) == 21
    assert [a.address for a in usage.recent_addresses(token)] == ["192.0.2.11", "192.0.2.10"]


def test_counts_are_written_once_the_resolution_has_passed(issue, operator):
    token, _ = issue(operator)
    start = timezone.now()
    usage.record_use(token, "192.0.2.1", now=start)
    usage.record_use(token, "192.0.2.1", now=start + timedelta(seconds=30))
    assert not TokenUsage.objects.exists()
    usage.record_use(token, "192.0.2.1", now=start + timedelta(seconds=61))
    assert TokenUsage.objects.get().requests == 3


def test_counts_from_several_processes_add_up(issue, operator):
    token, _ = issue(operator)
    now = timezone.now()
    for _ in range(2):  # each "process" flushes its own pending count
        usage.record_use(token, None, now=now)
        usage.flush_all(now=now)
        usage.forget()
    assert usage.requests_last_30_days(token) == 2


def test_only_the_last_30_days_count(issue, operator):
    token, _ = issue(operator)
    today = timezone.now().date()
    TokenUsage.objects.create(token=token, day=today - timedelta(days=29), requests=5)
    TokenUsage.objects.create(token=token, day=today - timedelta(days=30), requests=7)
    assert usage.requests_last_30_days(token) == 5


def test_the_detail_page_shows_usage_and_history(signed_in, issue, operator):
    token, secret = issue(operator, name="CI")
    api_client(secret).get("/api/v1/me/", REMOTE_ADDR="192.0.2.55")
    usage.flush_all()
    html = signed_in(operator).get(f"/settings/security-extensions/api-tokens/{token.pk}/")
    body = html.content.decode()
    assert "192.0.2.55" in body and "Token generated" in body
    assert '<p class="stat">1</p>' in body


def test_the_detail_page_follows_visibility(signed_in, issue, operator, reader):
    token, _ = issue(operator)
    assert (
        signed_in(reader).get(f"/settings/security-extensions/api-tokens/{token.pk}/").status_code
        == 404
    )
