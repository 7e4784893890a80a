"""Backups restore every token as it was (docs/operations.md).

A database with tokens in every state is backed up while in use, restored to a new database
by the documented procedure, and each token is presented to the restored portal through the
real middleware: valid ones still authenticate, revoked, rotated, expired and deprovisioned
ones are still refused with the same answer. SQLite on the SQLite run of the suite,
PostgreSQL (pg_dump, pg_restore) on the PostgreSQL run.
"""

import contextlib
import io
import shutil
import sqlite3
import subprocess

import pytest
from django.core.management import CommandError, call_command

from testbed.throwaway import ThrowawayDatabase, manage, portal_env, run_in_portal, suite_engine

TABLES = ["tenants_tenant", "tenants_user", "tokens_token", "audit_auditevent"]


def row_counts(database):
    return {table: database.query(f"SELECT COUNT(*) FROM {table}")[0][0] for table in TABLES}  # noqa: S608


def migrated(database):
    manage("migrate", "--noinput", "-v0", env=portal_env(database))
    return database


def seeded(database):
    return run_in_portal("tests.backups.seed", env=portal_env(database, TOKEN_CACHE="off"))


def answers(database, secrets):
    env = portal_env(database, TOKEN_CACHE="off")
    return run_in_portal("tests.backups.check", env=env, payload=list(secrets))


@pytest.fixture
def databases(tmp_path):
    made = []

    def make(label, engine=None):
        made.append(ThrowawayDatabase(tmp_path, label=label, engine=engine))
        return made[-1]

    yield make
    for database in made:
        database.drop()


@pytest.mark.skipif(suite_engine() != "sqlite", reason="the SQLite run covers SQLite backups")
def test_a_sqlite_backup_taken_while_in_use_restores_every_token_as_it_was(tmp_path, databases):
    live = migrated(databases("live", "sqlite"))
    # An open connection, as a running portal keeps: the newest rows stay in the WAL
    # instead of being checkpointed into the main file when the writer exits.
    with contextlib.closing(sqlite3.connect(live.path)) as portal_connection:
        portal_connection.execute("SELECT COUNT(*) FROM django_migrations").fetchall()
        expected = seeded(live)
        assert live.path.with_name("live.sqlite3-wal").stat().st_size > 0
        backup = tmp_path / "portal-backup.sqlite3"
        out = manage("backupdb", str(backup), env=portal_env(live))
        assert "integrity ok" in out
    restored = databases("restored", "sqlite")
    shutil.copyfile(backup, restored.path)  # the documented restore, server stopped
    assert row_counts(restored) == row_counts(live)
    assert answers(restored, expected) == expected


@pytest.mark.skipif(suite_engine() != "postgresql", reason="the PostgreSQL run covers pg_dump")
def test_a_postgresql_dump_restores_every_token_as_it_was(tmp_path, databases):
    live = migrated(databases("backup_live"))
    expected = seeded(live)
    dump = tmp_path / "portal.pgdump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", live.url], check=True)
    restored = databases("backup_restored")
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored.url}", dump], check=True)
    assert row_counts(restored) == row_counts(live)
    assert answers(restored, expected) == expected


def backupdb(*args):
    call_command("backupdb", *args, stdout=io.StringIO())


@pytest.mark.skipif(suite_engine() != "sqlite", reason="backupdb copies SQLite databases")
def test_backupdb_never_overwrites_a_file(db, tmp_path):
    existing = tmp_path / "backup.sqlite3"
    existing.write_bytes(b"precious")
    with pytest.raises(CommandError, match="already exists"):
        backupdb(str(existing))
    assert existing.read_bytes() == b"precious"


@pytest.mark.skipif(suite_engine() != "sqlite", reason="backupdb copies SQLite databases")
def test_backupdb_into_a_missing_folder_fails_in_one_line_and_leaves_nothing(db, tmp_path):
    with pytest.raises(CommandError, match="Backup failed") as failed:
        backupdb(str(tmp_path / "missing" / "backup.sqlite3"))
    assert "\n" not in str(failed.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(suite_engine() != "postgresql", reason="the PostgreSQL run only")
def test_backupdb_on_postgresql_points_to_pg_dump(db, tmp_path):
    with pytest.raises(CommandError, match="pg_dump"):
        backupdb(str(tmp_path / "backup.sqlite3"))
    assert list(tmp_path.iterdir()) == []
