"""README's "Running on PostgreSQL" block, run as written in a shell against a new database.

The block's commands are taken from README.md, not copied here, so the README cannot drift
from what works. Three substitutions only, each of which must match exactly one line:

- the venv creation and install line becomes a `.venv` link to this test run's own
  environment: installing the project again would take minutes and need the package index,
  and the install itself is what `make test` and CI already do;
- the database URL becomes a new, empty PostgreSQL database on the suite's server;
- the port becomes a free one, as another server may hold 8000.

It runs in a copy of the checkout without `.env`, `staticfiles/` or `.venv`, as a fresh clone
would be, with a minimal environment: nothing from this test run leaks into the commands.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from testbed.server import free_port, request
from testbed.throwaway import ROOT, ThrowawayDatabase, suite_engine

pytestmark = pytest.mark.slow

SECTION = "### Running on PostgreSQL"
TENANT_HOST = "acme.us.portal.localhost"
# The suite's PostgreSQL server when the suite runs on it (its database may not exist: the
# suite's is test_<name>), else the local one of .ci/run.
SERVER_URL = urlunsplit(
    urlsplit(
        os.environ["DATABASE_URL"]
        if suite_engine() == "postgresql"
        else "postgres://postgres@127.0.0.1:5432/postgres"
    )._replace(path="/postgres")
)
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".env",
    "staticfiles",
    "__pycache__",
    "*.sqlite3*",
    "test-artifacts",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.egg-info",
    "results",
)


def readme_block():
    """The first indented code block after the section's heading, as shell lines."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(SECTION) + len(SECTION) :]
    block = re.search(r"(?m)((?:^    .*\n)+)", after).group(1)
    return [line[4:] for line in block.splitlines()]


def substitute(lines, pattern, replacement):
    matching = [i for i, line in enumerate(lines) if re.match(pattern, line)]
    assert len(matching) == 1, f"README block: expected one line matching {pattern!r}"
    lines[matching[0]] = replacement


def script(database_url, port):
    lines = readme_block()
    assert lines[-1].startswith(".venv/bin/gunicorn "), "the block ends by starting gunicorn"
    substitute(lines, r"python3 -m venv \.venv", f"ln -s {sys.prefix} .venv")
    substitute(lines, r"export DATABASE_URL=", f"export DATABASE_URL={database_url}")
    substitute(lines, r"export PORT=", f"export PORT={port}")
    return "\n".join(["set -e", *lines, ""])


@pytest.fixture
def database(tmp_path):
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(SERVER_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip(f"PostgreSQL is not reachable at {SERVER_URL}")
    database = ThrowawayDatabase(
        tmp_path, label="readme", engine="postgresql", server_url=SERVER_URL
    )
    yield database
    database.drop()


def wait_for(port, log, shell, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if shell.poll() is not None:
            pytest.fail(f"the README block stopped (exit {shell.returncode}):\n{log.read_text()}")
        with contextlib.suppress(OSError):
            return request(port, "GET", "/healthz", host="127.0.0.1")
        time.sleep(0.5)
    pytest.fail(f"gunicorn did not answer in {timeout} s:\n{log.read_text()}")


def test_the_readme_postgresql_block_serves_the_tenant(tmp_path, database):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=NOT_COPIED, symlinks=True)
    port = free_port()
    (checkout / "readme.sh").write_text(script(database.url, port))
    log = tmp_path / "readme.log"
    with log.open("wb") as output:
        shell = subprocess.Popen(
            ["bash", "readme.sh"],
            cwd=checkout,
            env={
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": str(tmp_path),
                "LANG": "C.UTF-8",
                "DRAIN_SECONDS": "0",  # no load balancer waits: stop at once when killed
            },
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn and its workers
        )
    try:
        health, body = wait_for(port, log, shell)
        assert health.status == 200, body
        login, body = request(port, "GET", "/login/", host=TENANT_HOST)
        assert login.status == 200, log.read_text()
        assert b"Sign in" in body
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)  # the group this test started, by its id
        shell.wait(timeout=30)
    assert "Traceback" not in log.read_text()
