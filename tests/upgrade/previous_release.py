"""The previous release keeps serving on a database this code migrated (CONTRACT §14).

    .venv/bin/python -m tests.upgrade.previous_release      (.ci/run runs it)

On the PostgreSQL server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/):

1. `git worktree add` the previous release's commit, which CHANGELOG.md names.
2. Migrate a database with the release's own code (the schema production has), and seed a
   copy of it with the release's commands: a tenant, a full admin and a token.
3. Migrate both with this code's deploy-time migrations (`migrate --pre-deploy`).
4. Serve the copy with a gunicorn of each release at once: tokens made by the release's
   `generatetoken` work on both hosts, one revoked through the new host is refused by the old
   one on the very next call and the other way round, and both hosts' audit logs show it.
5. Meanwhile, the release's own tests of sign-in, generate, call, revoke, audit and the SIEM
   feed run on the first database (`pytest --reuse-db` keeps the schema this code made).
6. The post-deploy step (plain `migrate`) once the old host is gone; the new host serves on.

Prints PASS or FAIL per step and exits 1 on any FAIL.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from testbed.cluster import running_hosts
from testbed.server import request
from testbed.throwaway import ROOT, ThrowawayDatabase, manage
from tests.upgrade.release import git, previous_release

# The release's tests of what a rollout must not break, less two kinds: `from_the_shell`
# starts a manage.py per case to check its one-line errors (a minute on a busy machine, no
# schema), and `test_migrating` rewinds the schema with the release's migration graph, which
# knows nothing of this code's migrations (it tests the release's migrations, not serving).
OLD_TESTS = [
    "tests/test_sign_in.py",
    "tests/test_token_generate.py",
    "tests/test_api_auth.py",
    "tests/test_token_revoke.py",
    "tests/test_audit.py",
    "tests/test_siem_feed.py",
    "tests/test_commands.py",
]
OLD_TESTS_LEFT_OUT = "not from_the_shell and not test_migrating"
ADMIN = "admin@smoke.test"
CALLS = 4  # per check and host: enough to reach both of a host's workers
HOST_VARIABLES = {"WEB_CONCURRENCY": "2", "TOKEN_CACHE": "on"}
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


class Failed(Exception):
    """A step's one-line reason."""


class Rollout:
    def __init__(self, release, server, directory):
        self.release, self.server, self.directory = release, server, directory
        self.old = directory / "release"
        self.databases, self.tests = [], None

    def check_out(self):
        git("worktree", "add", "--detach", str(self.old), self.release.commit)

    def old_schema(self):
        base = f"portal_upgrade_{os.getpid()}"
        self.tests_url = urlunsplit(urlsplit(self.server)._replace(path=f"/{base}"))
        # pytest-django's test database for DATABASE_URL=.../{base}, with --reuse-db.
        self.tested = self.database(name=f"test_{base}")
        old_env = env_for(self.tested.url, self.old)
        manage("migrate", "--noinput", "-v0", env=old_env, root=self.old)
        self.served = self.database(template=self.tested)
        url, _, self.admin, self.before = self.old_commands(
            ["createtenant", "smoke", "--name", "Smoke"],
            ["createuser", ADMIN, "--tenant", "smoke", "--role", "full_admin"],
            ["generatetoken", ADMIN, "--tenant", "smoke", "--name", "admin"],
            ["generatetoken", ADMIN, "--tenant", "smoke", "--name", "made before the upgrade"],
        )
        self.tenant_host = urlsplit(url).hostname

    def deploy_time(self):
        migrations = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "migrate", "--pre-deploy", "--noinput", "-v0"],
                cwd=ROOT,
                env=env_for(database.url),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for database in (self.tested, self.served)
        ]
        for migration in migrations:
            output, _ = migration.communicate(timeout=300)
            if migration.returncode != 0:
                raise Failed(f"migrate --pre-deploy failed:\n{output}")

    def two_releases(self):
        self.start_old_tests()
        revoked_on_new, revoked_on_old = self.old_commands(
            ["generatetoken", ADMIN, "--tenant", "smoke", "--name", "revoked on new"],
            ["generatetoken", ADMIN, "--tenant", "smoke", "--name", "revoked on old"],
        )
        env = env_for(self.served.url, **HOST_VARIABLES)
        names = ("old", "new")
        releases = [(self.old, test_settings(self.old)), (ROOT, test_settings(ROOT))]
        with running_hosts(env, self.directory, self.served.query, names, releases) as hosts:
            old, new = hosts
            for secret in (self.admin, self.before, revoked_on_new, revoked_on_old):
                self.expect(hosts, secret, 200, "a token the previous release made")
            self.revoke(new, revoked_on_new)
            self.expect([old], revoked_on_new, 401, "revoked through the new host, on the old")
            self.revoke(old, revoked_on_old)
            self.expect([new], revoked_on_old, 401, "revoked through the old host, on the new")
            for name, host in zip(names, hosts, strict=True):
                events = self.call(host, "GET", "/api/v1/audit/?action=token.revoked")
                revoked = sorted(event["token"]["name"] for event in events["results"])
                if revoked != ["revoked on new", "revoked on old"]:
                    raise Failed(f"the {name} host's audit log shows {revoked} revoked")

    def old_test_results(self):
        try:
            self.tests.wait(timeout=600)
        finally:
            self.tests.kill()
        lines = (self.directory / "old-tests.log").read_text().splitlines()
        if self.tests.returncode == 0:
            print(f"   {lines[-1]}", flush=True)
            return
        # The failed tests, and the errors behind them (each once).
        errors = dict.fromkeys(line for line in lines if line.startswith("E   "))
        shown = [line for line in lines if line.startswith(("FAILED", "ERROR"))][:40]
        print("\n".join(f"   {line}" for line in [*shown, *list(errors)[:10]]), flush=True)
        raise Failed(f"pytest exited {self.tests.returncode}: {lines[-1] if lines else ''}")

    def post_deploy(self):
        manage("migrate", "--noinput", "-v0", env=env_for(self.served.url))
        after = self.directory / "after"
        after.mkdir()
        env = env_for(self.served.url, **HOST_VARIABLES)
        with running_hosts(env, after, self.served.query, names=("new",)) as hosts:
            self.expect(hosts, self.admin, 200, "after the post-deploy step")

    def start_old_tests(self):
        """The release's tests, in the background while the two hosts serve."""
        env = env_for(self.tests_url, self.old)
        with (self.directory / "old-tests.log").open("w") as log:
            self.tests = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--reuse-db", "-q"]
                + ["-k", OLD_TESTS_LEFT_OUT, *OLD_TESTS],
                cwd=self.old,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def old_commands(self, *commands):
        """The previous release's management commands in one process; what each printed."""
        code = (
            "import io, json, sys, tokens\n"
            "from django.core.management import call_command\n"
            "printed = [tokens.__file__]\n"
            "for args in json.load(sys.stdin):\n"
            "    out = io.StringIO()\n"
            "    call_command(*args, stdout=out)\n"
            "    printed.append(out.getvalue().strip())\n"
            "print(json.dumps(printed))\n"
        )
        env, payload = env_for(self.served.url, self.old), json.dumps(commands)
        out = manage("shell", "-c", code, env=env, input=payload, root=self.old)
        imported, *printed = json.loads(out.strip().splitlines()[-1])
        if not Path(imported).is_relative_to(self.old):
            raise Failed(f"the previous release's commands ran this code ({imported})")
        return printed

    def revoke(self, host, secret):
        token = self.call(host, "GET", "/api/v1/me/", secret=secret)["token"]["id"]
        status, _ = self.request(host, "DELETE", f"/api/v1/tokens/{token}/", self.admin)
        if status != 204:
            raise Failed(f"revoking through the host on port {host.port} answered {status}")

    def expect(self, hosts, secret, status, what):
        for host in hosts:
            answers = [self.request(host, "GET", "/api/v1/me/", secret)[0] for _ in range(CALLS)]
            if answers != [status] * CALLS:
                raise Failed(f"{what}: {answers} on the host on port {host.port}, not {status}")

    def call(self, host, method, path, secret=None):
        status, body = self.request(host, method, path, secret or self.admin)
        if status != 200:
            raise Failed(f"{method} {path} answered {status} on the host on port {host.port}")
        return json.loads(body)

    def request(self, host, method, path, secret):
        headers = {"Authorization": f"Token {secret}"}
        response, body = request(host.port, method, path, host=self.tenant_host, headers=headers)
        return response.status, body

    def database(self, **options):
        database = ThrowawayDatabase(
            self.directory, "upgrade", "postgresql", self.server, **options
        )
        self.databases.append(database)
        return database

    def clean_up(self):
        if self.tests is not None:
            self.tests.kill()
            self.tests.wait()
        for database in self.databases:
            database.drop()
        if self.old.exists():
            git("worktree", "remove", "--force", str(self.old))


def env_for(database_url, root=ROOT, **variables):
    """A process of the release checked out at root, on its test settings (no collected static
    files, a fixed secret key), on one database."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env |= {"DJANGO_SETTINGS_MODULE": test_settings(root), "DATABASE_URL": database_url}
    return env | variables


def test_settings(root):
    """The settings module a checkout's test suite runs on (tests.settings in 0.1.0)."""
    with (Path(root) / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["pytest"]["ini_options"]["DJANGO_SETTINGS_MODULE"]


def main():
    release = previous_release()
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        server = DEFAULT_SERVER
    print(f"== previous release {release.version} ({release.commit}) on this code's schema")
    directory = Path(tempfile.mkdtemp(prefix="previous-release-"))
    rollout = Rollout(release, server, directory)
    steps = [
        ("check out the previous release", rollout.check_out),
        ("migrate with the previous release, seed a copy with its commands", rollout.old_schema),
        ("this code's deploy-time migrations (migrate --pre-deploy)", rollout.deploy_time),
        ("both releases serve one database", rollout.two_releases),
        ("the previous release's tests on the migrated schema", rollout.old_test_results),
        ("post-deploy migrations (migrate) with no old host left", rollout.post_deploy),
    ]
    results = []
    try:
        for name, step in steps:
            # After a failure, only the tests already running are waited for.
            if any(verdict == "FAIL" for _, verdict, _ in results) and (
                step != rollout.old_test_results or rollout.tests is None
            ):
                results.append((name, "SKIP", "an earlier step failed"))
                continue
            print(f"-- {name}", flush=True)
            started = time.monotonic()
            try:
                step()
            except Exception as error:  # noqa: BLE001 - reported, then exit 1
                lines = [line for line in str(error).splitlines() if line.strip()] or [""]
                print("\n".join(f"   {line}" for line in lines[-40:]), flush=True)
                last = lines[-1].strip()  # a traceback's last line names its error
                detail = last if len(lines) > 1 else f"{type(error).__name__}: {last}"
                results.append((name, "FAIL", detail))
                continue
            results.append((name, "PASS", f"{time.monotonic() - started:.0f} s"))
    finally:
        rollout.clean_up()
        shutil.rmtree(directory, ignore_errors=True)
    print(f"\n== previous release {release.version} on this code's schema")
    for name, verdict, detail in results:
        print(f"{verdict}  {name} ({detail})")
    passed = all(verdict == "PASS" for _, verdict, _ in results)
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
