"""CONTRACT §14: migrations run beside live traffic. On PostgreSQL a migration blocked by a held
lock fails after MIGRATION_LOCK_TIMEOUT, and a statement after MIGRATION_STATEMENT_TIMEOUT,
instead of hanging with every later query on the table queued behind it."""

import os
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models.signals import pre_migrate

from testbed.throwaway import ROOT, suite_engine

pytestmark = pytest.mark.skipif(
    suite_engine() != "postgresql", reason="PostgreSQL's lock and statement timeouts"
)
FAST = 30  # seconds: a process start and a one-second limit, on a busy machine
LIMITS = "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"


@pytest.fixture
def probe_table(db):
    """The test database's URL, with a table the probe app's migrations alter; the probe's
    migrations are forgotten afterwards."""
    url = urlunsplit(
        urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{connection.settings_dict['NAME']}")
    )
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("CREATE TABLE upgrade_lock_probe (id integer)")
    yield url
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("DROP TABLE upgrade_lock_probe")
        admin.execute("DELETE FROM django_migrations WHERE app = 'lockprobe'")


def migrate_probe(url, **limits):
    """`manage.py migrate` of the probe app in a process of its own; (result, seconds)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "lockprobe", "-v0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.upgrade.lockprobe.settings",
            "DATABASE_URL": url,
            **limits,
        },
        capture_output=True,
        text=True,
        timeout=90,  # without the limits the first one waits for as long as the lock is held
    )
    return result, time.monotonic() - started


def applied(url):
    with psycopg.connect(url) as reader:
        rows = reader.execute("SELECT name FROM django_migrations WHERE app = 'lockprobe'")
        return [name for (name,) in rows]


def test_a_migration_blocked_by_a_held_lock_fails_fast_and_applies_nothing(probe_table):
    with psycopg.connect(probe_table) as holder:
        # A long transaction that read the table holds its ACCESS SHARE lock until it ends.
        holder.execute("SELECT * FROM upgrade_lock_probe")
        result, seconds = migrate_probe(probe_table, MIGRATION_LOCK_TIMEOUT="1")
    assert result.returncode != 0
    assert "canceling statement due to lock timeout" in result.stderr
    assert seconds < FAST
    assert applied(probe_table) == []


def test_a_statement_running_past_the_limit_is_cancelled(probe_table):
    result, seconds = migrate_probe(probe_table, MIGRATION_STATEMENT_TIMEOUT="1")
    assert result.returncode != 0
    assert "canceling statement due to statement timeout" in result.stderr
    assert seconds < FAST
    assert applied(probe_table) == ["0001_alter_probe_table"]


@pytest.mark.django_db
def test_migrate_sets_the_limits_on_its_own_session_and_resets_them(settings):
    settings.MIGRATION_LOCK_TIMEOUT = 2.5
    seen = []

    def record(sender, using, **kwargs):
        with connections[using].cursor() as cursor:
            cursor.execute(LIMITS)
            seen.append(cursor.fetchone())

    # Connected after web's own receiver, so it runs after it.
    pre_migrate.connect(record, sender=apps.get_app_config("web"))
    try:
        call_command("migrate", verbosity=0)
    finally:
        pre_migrate.disconnect(record, sender=apps.get_app_config("web"))
    assert seen == [("2500ms", "1min")]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        )
        assert cursor.fetchone() == ("0", "0")


@pytest.mark.django_db
def test_migrate_refuses_to_run_behind_a_pooler_in_transaction_mode(settings):
    settings.DATABASE_POOL_MODE = "transaction"
    with pytest.raises(CommandError) as refused:
        call_command("migrate", verbosity=0)
    assert str(refused.value) == (
        "Migrate with DATABASE_URL straight to PostgreSQL and DATABASE_POOL_MODE=session: "
        "behind a pooler in transaction mode the lock and statement timeouts do not hold."
    )
