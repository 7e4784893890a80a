import io
import logging
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import Action, AuditEvent
from portal.settings import cache_from_url
from testbed.redis_server import RedisServer
from tests.api import api_client
from tests.factories import PASSWORD, UserFactory
from tokens import crypto
from web import ratelimit
from web.models import RateLimitCount


@pytest.fixture
def low_limits(settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    settings.SIGN_IN_FAILURE_LIMIT = 3
    settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = 5
    # The windows are fixed and end on whole minutes: a test counting a few calls against a
    # limit starts with at least 5 s of its window left, so its calls never straddle two.
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.05)


def test_repeated_bad_tokens_from_one_address_get_429_with_retry_after(db, low_limits):
    client = api_client(crypto.generate())
    codes = [client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    response = client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1")
    assert int(response["Retry-After"]) >= 1
    assert "Too many failed authentications" in response.json()["detail"]


def test_a_valid_token_from_a_limited_address_still_works(issue, operator, low_limits):
    _, secret = issue(operator)
    bad = api_client(crypto.generate())
    for _ in range(5):
        bad.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1")
    assert api_client(secret).get("/api/v1/me/", REMOTE_ADDR="203.0.113.1").status_code == 200


def test_other_addresses_are_not_limited(db, low_limits):
    client = api_client(crypto.generate())
    for _ in range(5):
        client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1")
    assert client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.2").status_code == 401


def test_the_address_comes_from_x_forwarded_for_only_behind_trusted_proxies(
    db, low_limits, settings
):
    settings.TRUSTED_PROXIES = 1
    client = api_client(crypto.generate())
    for n in range(5):
        client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 401


def sign_in(client, email, password, address="203.0.113.5"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def test_sign_in_pauses_after_repeated_failures_for_one_account(operator, low_limits):
    client = Client(HTTP_HOST=operator.tenant.host)
    for _ in range(3):
        assert sign_in(client, operator.email, "wrong").status_code == 200
    response = sign_in(client, operator.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert int(response["Retry-After"]) >= 1


def test_the_pause_does_not_lock_the_user_out_from_elsewhere(operator, low_limits):
    client = Client(HTTP_HOST=operator.tenant.host)
    for _ in range(3):
        sign_in(client, operator.email, "wrong", address="203.0.113.5")
    assert sign_in(client, operator.email, PASSWORD, address="192.0.2.8").status_code == 302


def test_one_address_trying_many_accounts_is_paused(tenant, low_limits):
    client = Client(HTTP_HOST=tenant.host)
    for n in range(5):
        sign_in(client, f"guess{n}@contoso.test", "wrong")
    assert sign_in(client, "another@contoso.test", "wrong").status_code == 429


# -- review 3, finding 5: one account guessed from many addresses; IPv6 clients by /64 -------


def test_guessing_one_account_from_many_addresses_locks_it_and_says_so_once(operator):
    # The reviewer's reproduction, with the default limits: forty wrong passwords, one each
    # from 127.0.3.10-49, and then the right one. Before: every one got the form back and
    # the right password signed in.
    client = Client(HTTP_HOST=operator.tenant.host)
    codes = [
        sign_in(client, operator.email, "wrong", address=f"127.0.3.{n}").status_code
        for n in range(10, 50)
    ]
    assert codes == [200] * 20 + [429] * 20
    response = sign_in(client, operator.email, PASSWORD, address="127.0.4.1")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    locks = AuditEvent.objects.filter(action=Action.USER_SIGN_IN_LOCKED)
    assert [(event.subject, event.tenant) for event in locks] == [(operator, operator.tenant)]
    assert "after 20 failed attempts" in locks[0].detail


def test_an_address_the_account_signed_in_from_before_is_not_locked_out(operator):
    client = Client(HTTP_HOST=operator.tenant.host)
    assert sign_in(client, operator.email, PASSWORD, address="192.0.2.44").status_code == 302
    client = Client(HTTP_HOST=operator.tenant.host)
    for n in range(25):
        sign_in(client, operator.email, "wrong", address=f"198.51.100.{n}")
    assert sign_in(client, operator.email, PASSWORD, address="203.0.113.9").status_code == 429
    assert sign_in(client, operator.email, PASSWORD, address="192.0.2.44").status_code == 302


def test_the_account_limit_does_not_stop_other_accounts(operator, tenant):
    other = UserFactory(tenant=tenant)
    client = Client(HTTP_HOST=tenant.host)
    for n in range(25):
        sign_in(client, operator.email, "wrong", address=f"198.51.100.{n}")
    assert sign_in(client, other.email, PASSWORD, address="203.0.113.9").status_code == 302


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("192.0.2.1", "192.0.2.1"),
        (None, "unknown"),
        ("", "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_ipv6_clients_are_limited_by_their_64(address, key):
    assert ratelimit.address_key(address) == key


def test_failed_api_authentications_from_one_64_share_a_limit(db, low_limits):
    client = api_client(crypto.generate())
    codes = [
        client.get("/api/v1/me/", REMOTE_ADDR=f"2001:db8:1:2::{n:x}").status_code
        for n in range(1, 6)
    ]
    assert codes == [401, 401, 401, 429, 429]
    # The next /64 is another subscriber.
    assert client.get("/api/v1/me/", REMOTE_ADDR="2001:db8:1:3::1").status_code == 401


def test_sign_ins_from_one_64_share_the_per_address_limits(operator, low_limits):
    client = Client(HTTP_HOST=operator.tenant.host)
    for n in range(1, 4):
        sign_in(client, operator.email, "wrong", address=f"2001:db8:1:2::{n}")
    response = sign_in(client, operator.email, PASSWORD, address="2001:db8:1:2::99")
    assert response.status_code == 429


def test_leak_reports_from_one_64_share_a_limit(db, settings):
    settings.LEAK_REPORT_RATE = 2
    client = Client()
    codes = [
        client.post(
            "/api/v1/tokens/report-leak/",
            {"token": "x"},
            content_type="application/json",
            REMOTE_ADDR=f"2001:db8:7::{n}",
        ).status_code
        for n in range(1, 4)
    ]
    assert codes == [202, 202, 429]


# -- where the counts live ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# One window for the whole test run: a window boundary mid-test would restart the counts.
FOREVER = 10**9


def manage_shell(code, env):
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def allowed_hits(key, hits, limit):
    """Python for a subprocess that counts `hits` events and prints how many were allowed."""
    return (
        "from web import ratelimit; "
        f"print(sum(ratelimit.hit('test', {key!r}, limit={limit}, window={FOREVER}) == 0 "
        f"for _ in range({hits})))"
    )


def run_together(codes, env):
    processes = [manage_shell(code, env) for code in codes]
    results = [process.communicate(timeout=60) for process in processes]
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr
    return [int(stdout.strip().splitlines()[-1]) for stdout, _ in results]


@pytest.fixture
def database_env(transactional_db, shell_env):
    """Subprocess environment on a database this process can see: the file SQLite database of
    shell_env, or on PostgreSQL the test database itself (subprocesses commit their rows, so
    transactional_db empties the tables afterwards)."""
    if connection.vendor != "postgresql":
        return shell_env
    db = connection.settings_dict
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    url = f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**shell_env, "DATABASE_URL": url}


def test_two_processes_count_against_one_limit_in_the_database(database_env):
    # Per-process counting would allow 25 + 25; shared, atomic counting allows exactly 30.
    key = f"client-{uuid.uuid4()}"
    code = allowed_hits(key, hits=25, limit=30)
    assert sum(run_together([code, code], database_env)) == 30


def test_a_client_at_its_limit_is_refused_without_a_write(db):
    for _ in range(3):
        ratelimit.hit("test", "client", limit=3, window=60)
    with CaptureQueriesContext(connection) as queries:
        assert ratelimit.hit("test", "client", limit=3, window=60) > 0
        assert ratelimit.retry_after("test", "client", limit=3, window=60) > 0
    assert len(queries) == 0
    assert RateLimitCount.objects.get(scope="test").count == 3


def test_a_limit_reached_in_another_process_is_read_from_the_database(db):
    for _ in range(3):
        ratelimit.hit("test", "client", limit=3, window=60)
    ratelimit.forget()  # as another worker, which never saw this client
    assert ratelimit.retry_after("test", "client", limit=3, window=60) > 0
    assert ratelimit.hit("test", "client", limit=3, window=60) > 0


def test_the_database_keeps_no_client_key_in_clear(db):
    ratelimit.hit("sign-in", "203.0.113.5|alice@contoso.test", limit=3, window=60)
    row = RateLimitCount.objects.get()
    assert "alice" not in row.digest and "203.0.113.5" not in row.digest


def test_ended_windows_are_swept_in_bounded_batches(db, monkeypatch):
    monkeypatch.setattr(ratelimit, "SWEEP_BATCH", 2)
    now = int(time.time())
    for n in range(3):
        RateLimitCount.objects.create(
            scope="old", digest=str(n), window_start=now - 120, window_end=now - 60, count=1
        )
    ratelimit.hit("test", "client", limit=3, window=60)  # a fresh process sweeps at once
    assert RateLimitCount.objects.filter(scope="old").count() == 1
    ratelimit.hit("test", "client", limit=3, window=60)  # ...then not again for a while
    assert RateLimitCount.objects.filter(scope="old").count() == 1


def test_the_sweep_keeps_pace_with_inserts(db, monkeypatch):
    # Review 3, finding 8: one sweep a minute of at most SWEEP_BATCH rows fell behind clients
    # that insert more rows than that a minute. Every SWEEP_BATCH counts also sweep.
    monkeypatch.setattr(ratelimit, "SWEEP_BATCH", 2)
    now = int(time.time())
    for n in range(6):
        RateLimitCount.objects.create(
            scope="old", digest=str(n), window_start=now - 120, window_end=now - 60, count=1
        )
    for n in range(5):
        ratelimit.hit("test", f"client-{n}", limit=3, window=60)
    # A sweep on the first count, and one after each further two: three sweeps of two.
    assert RateLimitCount.objects.filter(scope="old").count() == 0


# -- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_server(db, tmp_path, settings):
    server = RedisServer(tmp_path)
    server.start()
    settings.CACHES = {"default": cache_from_url(server.url)}
    yield server
    server.stop()


def test_with_redis_the_counts_land_in_redis(redis_server, low_limits):
    client = api_client(crypto.generate())
    codes = [client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert list(redis_server.counts().values()) == [3]  # the refused 4th call wrote nothing
    assert not RateLimitCount.objects.exists()


def test_with_redis_every_process_counts_against_one_limit(redis_server, shell_env):
    key = f"client-{uuid.uuid4()}"
    env = {**shell_env, "CACHE_URL": redis_server.url}
    code = allowed_hits(key, hits=25, limit=30)
    assert sum(run_together([code, code], env)) == 30


def test_a_dead_redis_falls_back_to_the_database_with_one_warning_and_comes_back(
    redis_server, low_limits, caplog, monkeypatch
):
    monkeypatch.setattr(ratelimit, "REDIS_RETRY_AFTER", 0.2)
    caplog.set_level(logging.INFO, logger="web.ratelimit")
    client = api_client(crypto.generate())
    # Counts are per minute-aligned window: start early in one, so that the counts this test
    # compares are never split by a new minute on a slow machine.
    if time.time() % 60 > 45:
        time.sleep(60 - time.time() % 60)

    def codes(address, calls):
        return [client.get("/api/v1/me/", REMOTE_ADDR=address).status_code for _ in range(calls)]

    assert codes("203.0.113.1", 2) == [401, 401]
    redis_server.stop()
    # Counted afresh in the database: the outage neither refuses good calls nor lifts the limit.
    assert codes("203.0.113.2", 2) == [401, 401]
    time.sleep(0.3)  # past the back-off: Redis is tried again, and still dead
    assert codes("203.0.113.2", 3) == [401, 429, 429]
    assert RateLimitCount.objects.get().count == 3
    ours = [r for r in caplog.records if r.name == "web.ratelimit"]
    warnings = [r for r in ours if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"Redis at 127.0.0.1:{redis_server.port} is unreachable" in warnings[0].getMessage()
    assert "counted in the database" in warnings[0].getMessage()

    redis_server.start()
    time.sleep(0.3)
    assert codes("203.0.113.3", 1) == [401]
    assert list(redis_server.counts().values()) == [1]
    ours = [r for r in caplog.records if r.name == "web.ratelimit"]
    infos = [r.getMessage() for r in ours if r.levelno == logging.INFO]
    assert infos == [
        f"Redis at 127.0.0.1:{redis_server.port} answers again: rate limits are counted in Redis"
    ]


def test_a_hung_redis_costs_a_call_about_the_timeout_not_a_stalled_worker(redis_server):
    ratelimit.hit("test", "client", limit=3, window=60)  # a pooled connection to Redis
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert ratelimit.hit("test", "client", limit=3, window=60) == 0
        assert time.monotonic() - started < 1
        assert RateLimitCount.objects.get().count == 1  # counted in the database instead
    finally:
        redis_server.process.send_signal(signal.SIGCONT)


def test_the_owner_of_a_locked_account_is_told_by_e_mail_once(operator, mailoutbox):
    client = Client(HTTP_HOST=operator.tenant.host)
    for n in range(21):
        sign_in(client, operator.email, "wrong", address=f"127.0.3.{n}")
    out = io.StringIO()
    call_command("sendnotifications", stdout=out)
    assert "1 sign-in lock notice" in out.getvalue()
    (mail,) = mailoutbox
    assert mail.to == [operator.email]
    assert mail.subject.endswith("Password sign-in to your account was locked")
    assert "after 20 failed attempts within 15 minutes, the last from 127.0.3.19" in mail.body
    call_command("sendnotifications", stdout=io.StringIO())
    assert len(mailoutbox) == 1
