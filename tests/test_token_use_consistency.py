"""What a token's pages say about its use agrees with itself at every moment (issue 20, item 5):
"Not used yet" follows last use, counts not yet written say they are catching up, and a token
whose calls are refused (owner deprovisioned) keeps its contract status, which decides the
filter counts, flagged "Owner deprovisioned · calls refused" beside it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api import api_client
from tests.factories import TokenFactory, UserFactory
from tokens import pending, usage
from tokens.models import TokenUsage

LIST = "/settings/security-extensions/api-tokens/"


def detail(client, token):
    response = client.get(f"{LIST}{token.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_token_never_used_says_not_used_yet(signed_in, operator, issue):
    token, _ = issue(operator)
    html = detail(signed_in(operator), token)
    assert html.count("Not used yet.") == 2  # requests and addresses agree
    assert "catching up" not in html


def test_right_after_a_call_the_page_says_the_counts_are_catching_up(signed_in, operator, issue):
    token, secret = issue(operator)
    api_client(secret).get("/api/v1/me/", REMOTE_ADDR="192.0.2.7")  # counted in memory only
    token.refresh_from_db()
    assert token.last_used_at is not None and not TokenUsage.objects.exists()
    html = detail(signed_in(operator), token)
    assert "Not used yet" not in html
    assert "its latest calls are not counted yet" in html and "catching up" in html
    assert "The addresses of recent calls are still being written." in html

    pending.flush_all()
    html = detail(signed_in(operator), token)
    assert "catching up" not in html and "Not used yet" not in html
    assert '<p class="stat">1</p>' in html and "192.0.2.7" in html


def test_a_use_days_ago_with_no_count_written_since_is_not_called_unused(
    signed_in, operator, issue
):
    token, _ = issue(operator)
    now = timezone.now()
    token.last_used_at = now - timedelta(days=2)
    token.save(update_fields=["last_used_at"])
    TokenUsage.objects.create(token=token, day=(now - timedelta(days=5)).date(), requests=3)
    html = detail(signed_in(operator), token)
    assert "Not used yet" not in html and "catching up" in html
    assert '<p class="stat">3</p>' in html


def test_a_use_older_than_the_counted_days_says_so(signed_in, operator, issue):
    token, _ = issue(operator)
    token.last_used_at = timezone.now() - timedelta(days=40)
    token.save(update_fields=["last_used_at"])
    assert not usage.counts_catching_up(token)
    html = detail(signed_in(operator), token)
    assert "Not used in the past 30 days; last used" in html
    assert "Not used yet" not in html and "catching up" not in html


@pytest.fixture
def refused_token(tenant):
    former = UserFactory(tenant=tenant, email="former@contoso.test")
    token = TokenFactory(owner=former, name="legacy", last_used_at=timezone.now())
    former.deprovision()
    return token


def badges(html):
    return re.findall(r'<span class="badge badge-(\w+)"[^>]*>([^<]*)</span>', html)


def test_a_refused_token_keeps_its_status_with_the_owner_flag_on_the_list_and_its_page(
    signed_in, full_admin, refused_token
):
    client = signed_in(full_admin)
    for html in (client.get(LIST).content.decode(), detail(client, refused_token)):
        assert ("active", "Active") in badges(html)
        assert ("warning", "Owner deprovisioned · calls refused") in badges(html)
        assert ("refused", "Refused") not in badges(html) and "counted as" not in html


def test_the_filter_counts_keep_the_contract_statuses(signed_in, full_admin, refused_token):
    response = signed_in(full_admin).get(LIST, {"status": "active"})
    choices = {value: count for value, _label, count in response.context["statuses"]["choices"]}
    assert choices["active"] == 1 and choices["all"] == 1
    assert [t.name for t in response.context["page"].object_list] == ["legacy"]


def test_the_api_status_of_a_refused_token_is_unchanged(full_admin, refused_token, issue):
    _token, secret = issue(full_admin)
    body = api_client(secret).get("/api/v1/tokens/").json()
    (listed,) = [t for t in body["results"] if t["name"] == "legacy"]
    assert listed["status"] == "active"


def test_an_expired_token_of_a_deprovisioned_owner_shows_expired(
    signed_in, full_admin, refused_token
):
    refused_token.expires_at = timezone.now() - timedelta(hours=1)
    refused_token.save(update_fields=["expires_at"])
    assert ("expired", "Expired") in badges(signed_in(full_admin).get(LIST).content.decode())
