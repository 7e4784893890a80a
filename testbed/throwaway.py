"""Throw-away databases and `manage.py` runs with production settings, for the tests that
work on a database of their own outside the test transaction (load, backups), and for the
benchmark's servers.

A database follows the run's DATABASE_URL: a new PostgreSQL database on the same server when
it names PostgreSQL, else a new SQLite file.
"""

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "throw-away-test-only-" + "k" * 50


def suite_engine():
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


class ThrowawayDatabase:
    """A database that exists for one test; drop() removes it (PostgreSQL; files go with
    the test's temporary directory)."""

    def __init__(
        self, directory, label="load", engine=None, server_url=None, name=None, template=None
    ):
        """On PostgreSQL, name replaces the generated one, and template is another
        ThrowawayDatabase to copy (no session may be open on it)."""
        self.engine = engine or suite_engine()
        if self.engine == "postgresql":
            self._server_url = server_url or os.environ["DATABASE_URL"]
            self.name = name or f"portal_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            copy = f' TEMPLATE "{template.name}"' if template else ""
            self._admin(f'CREATE DATABASE "{self.name}"{copy}')
            self.url = urlunsplit(urlsplit(self._server_url)._replace(path=f"/{self.name}"))
        else:
            self.path = Path(directory) / f"{label}.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def _admin(self, sql):
        import psycopg

        with psycopg.connect(self._server_url, autocommit=True) as connection:
            connection.execute(sql)

    def query(self, sql):
        if self.engine == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path)) as connection:
                return connection.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as connection:
            return connection.execute(sql).fetchall()

    def token_rows(self):
        """{token id: revoked?} for every row of tokens_token."""
        rows = self.query("SELECT id, revoked_at FROM tokens_token")
        return {uuid.UUID(str(pk)): revoked is not None for pk, revoked in rows}

    def drop(self):
        if self.engine == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def portal_env(database, **variables):
    """The environment of a portal process with production settings on database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "TOKEN_", "GUNICORN_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "PORTAL_DOMAIN": "portal.localhost",
            "PORTAL_SCHEME": "http",
            "DATABASE_URL": database.url,
            "LOG_LEVEL": "WARNING",
            # No load balancer waits on these servers: SIGTERM stops them without draining
            # (tests/test_draining.py and the rolling restart set their own).
            "DRAIN_SECONDS": "0",
            **variables,
        }
    )
    return env


def manage(*args, env, input=None, root=ROOT):
    """manage.py of the checkout at root (another release's, for tests/upgrade)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def run_in_portal(function, *, env, payload=None):
    """Call function (a dotted path) inside `manage.py shell` with payload as JSON on stdin;
    return the JSON it prints last."""
    module, name = function.rsplit(".", 1)
    code = f"from {module} import {name}; {name}()"
    out = manage("shell", "-c", code, env=env, input=json.dumps(payload))
    return json.loads(out.strip().splitlines()[-1])
