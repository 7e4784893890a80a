import os
import threading

import psycopg
import pytest
from django.contrib.auth.models import update_last_login
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Role
from tenants.services import tenant_save, user_deprovision, user_set_role
from tests.api import api_client
from tokens import authcache
from tokens.models import Token
from tokens.services import token_revoke
from web import invalidation
from web.invalidation import FileBoard

ME = "/api/v1/me/"


def another_process_announces(tenant_id):
    """What a write in another process does: on PostgreSQL a real NOTIFY from another session,
    heard by this process's listener; on the in-memory SQLite of the tests, a mark on the
    board (the file board that processes share is tested below)."""
    board = invalidation.board()
    before = board.tag()
    if connection.vendor != "postgresql":
        board.mark(tenant_id)
        return
    params = invalidation._listener_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_notify(%s, %s)", [invalidation.CHANNEL, f"a:{tenant_id}"])
    deadline = threading.Event()
    for _ in range(500):
        if board.tag() > before:
            return
        deadline.wait(0.01)
    raise AssertionError("the listener did not hear the notification")


def warm(secret):
    client = api_client(secret)
    client.get(ME)  # first use: Active now, which makes the counts stale
    client.get(ME)
    return client


def test_a_cached_token_costs_no_query(issue, operator, caching):
    _, secret = issue(operator)
    client = warm(secret)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0


def test_an_announcement_from_another_process_makes_the_tenants_entries_stale(
    issue, operator, caching
):
    token, secret = issue(operator)
    client = warm(secret)
    # A change this process did not make and did not announce: the cache still answers...
    Token.objects.filter(pk=token.pk).update(name="renamed elsewhere")
    assert client.get(ME).json()["token"]["name"] == "Test token"
    # ...until another process announces a change in the tenant, as every write path does.
    another_process_announces(operator.tenant_id)
    assert client.get(ME).json()["token"]["name"] == "renamed elsewhere"


def test_a_change_in_another_tenant_leaves_cached_tokens_alone(
    issue, operator, other_tenant_admin, caching
):
    _, secret = issue(operator)
    other, _ = issue(other_tenant_admin)
    client = warm(secret)
    token_revoke(token=other, by=other_tenant_admin)
    another_process_announces(other_tenant_admin.tenant_id)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0


def test_revocation_reaches_cached_tokens_at_once(issue, operator, caching):
    token, secret = issue(operator)
    client = warm(secret)
    token_revoke(token=token, by=operator)
    assert client.get(ME).status_code == 401


def test_deprovisioning_reaches_cached_tokens_at_once(issue, operator, caching):
    _, secret = issue(operator)
    client = warm(secret)
    user_deprovision(user=operator)
    assert client.get(ME).status_code == 403


def test_a_role_change_reaches_cached_tokens_at_once(issue, operator, caching):
    token, secret = issue(operator)
    client = warm(secret)
    user_set_role(user=operator, role=Role.SECURITY_READER)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 403


def test_a_tenant_policy_change_reaches_cached_tokens_at_once(issue, operator, caching):
    token, secret = issue(operator)
    client = warm(secret)
    Token.objects.filter(pk=token.pk).update(name="seen after the policy change")
    operator.tenant.token_expiry_required = True
    tenant_save(tenant=operator.tenant, changed=["token_expiry_required"])
    assert client.get(ME).json()["token"]["name"] == "seen after the policy change"


def test_the_file_board_is_one_board_for_every_opener(tmp_path):
    first, second = FileBoard(tmp_path / "board"), FileBoard(tmp_path / "board")
    tag = first.tag()
    assert first.fresh(7, tag)
    second.mark(7)
    assert not first.fresh(7, tag)
    assert first.fresh(8, tag)  # another tenant's entries stay
    assert not first.fresh(7, tag, invalidation.COUNTS)  # an AUTH mark stales counts too
    second.mark(9, invalidation.COUNTS)
    assert first.fresh(9, tag, invalidation.AUTH)  # a COUNTS mark leaves tokens alone
    second.mark(None)
    assert not first.fresh(8, tag)


def test_the_file_board_is_owner_only_and_never_follows_a_link(tmp_path):
    FileBoard(tmp_path / "board")
    assert os.stat(tmp_path / "board").st_mode & 0o777 == 0o600
    (tmp_path / "planted").write_bytes(b"")
    os.symlink(tmp_path / "planted", tmp_path / "link")
    with pytest.raises(OSError):
        FileBoard(tmp_path / "link")


def test_with_the_cache_off_every_call_queries(issue, operator, settings):
    settings.TOKEN_CACHE = "off"
    _, secret = issue(operator)
    client = warm(secret)
    with CaptureQueriesContext(connection) as queries:
        client.get(ME)
    assert len(queries) == 1
    assert not authcache._entries


def test_a_cached_entry_is_reloaded_after_its_maximum_age(issue, operator, monkeypatch, caching):
    token, secret = issue(operator)
    client = warm(secret)
    Token.objects.filter(pk=token.pk).update(name="renamed, announcement lost")
    assert client.get(ME).json()["token"]["name"] == "Test token"
    later = authcache.time.monotonic() + authcache.MAX_AGE + 1
    monkeypatch.setattr(authcache.time, "monotonic", lambda: later)
    assert client.get(ME).json()["token"]["name"] == "renamed, announcement lost"


def test_a_tokens_first_use_leaves_other_cached_tokens_alone(issue, operator, caching):
    _, first = issue(operator, name="first")
    _, second = issue(operator, name="second")
    client = warm(first)
    api_client(second).get(ME)  # Generated -> Active: the counts change, no authentication does
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0


def test_a_process_that_cannot_hear_invalidations_reads_the_database(
    issue, operator, caching, monkeypatch
):
    _, secret = issue(operator)
    client = warm(secret)
    monkeypatch.setattr(invalidation, "caching", lambda: False)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 1


def test_a_cache_miss_on_postgresql_is_a_statement_prepared_once(issue, operator, settings):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    settings.TOKEN_CACHE = "off"
    _, secret = issue(operator)
    warm(secret)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "tokens_token" t JOIN%'],
        )
        assert cursor.fetchone()[0] == 1


def test_a_sign_in_leaves_the_tenants_cached_tokens_alone(issue, operator, caching):
    _, secret = issue(operator)
    client = warm(secret)
    update_last_login(None, operator)  # what every sign-in saves
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0
