from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Role
from tests.api import api_client
from tokens import authcache
from tokens.authcache import SharedEpoch
from tokens.models import Token

ME = "/api/v1/me/"


def another_process_bumps(settings):
    """What a revocation in another worker does: bump the shared counter file."""
    SharedEpoch(settings.TOKEN_CACHE_EPOCH_FILE).bump()


def test_a_cached_token_costs_no_query(issue, operator):
    _, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)  # first use: Active now, which changes the counts and so the cache version
    client.get(ME)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0


def test_a_bump_from_another_process_empties_the_cache(issue, operator, settings):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)
    client.get(ME)
    # A change this process did not make and did not announce: the cache still answers...
    Token.objects.filter(pk=token.pk).update(name="renamed elsewhere")
    assert client.get(ME).json()["token"]["name"] == "Test token"
    # ...until another process bumps the shared epoch, as every write path does.
    another_process_bumps(settings)
    assert client.get(ME).json()["token"]["name"] == "renamed elsewhere"


def test_revocation_reaches_cached_tokens_at_once(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)
    token.revoke(by=operator)
    assert client.get(ME).status_code == 401


def test_deprovisioning_reaches_cached_tokens_at_once(issue, operator):
    _, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)
    operator.deprovision()
    assert client.get(ME).status_code == 403


def test_a_role_change_reaches_cached_tokens_at_once(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)
    operator.set_role(Role.SECURITY_READER)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 403


def test_the_shared_epoch_is_one_counter_for_every_opener(tmp_path):
    first, second = SharedEpoch(tmp_path / "epoch"), SharedEpoch(tmp_path / "epoch")
    assert first.read() == second.read() == 0
    second.bump()
    second.bump()
    assert first.read() == 2


def test_with_the_cache_off_every_call_queries(issue, operator, settings):
    settings.TOKEN_CACHE = "off"
    _, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)
    with CaptureQueriesContext(connection) as queries:
        client.get(ME)
    assert len(queries) == 1
    assert not authcache._entries


def test_a_cached_entry_is_reloaded_after_its_maximum_age(issue, operator, monkeypatch):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)
    client.get(ME)
    Token.objects.filter(pk=token.pk).update(name="renamed, bump lost")
    assert client.get(ME).json()["token"]["name"] == "Test token"
    later = authcache.time.monotonic() + authcache.MAX_AGE + 1
    monkeypatch.setattr(authcache.time, "monotonic", lambda: later)
    assert client.get(ME).json()["token"]["name"] == "renamed, bump lost"


def test_a_tokens_first_use_leaves_other_cached_tokens_alone(issue, operator):
    _, first = issue(operator, name="first")
    _, second = issue(operator, name="second")
    client = api_client(first)
    client.get(ME)
    client.get(ME)
    api_client(second).get(ME)  # Generated -> Active: the counts change, no authentication does
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0
