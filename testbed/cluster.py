"""Two portal hosts on one PostgreSQL database, as in production (CONTRACT §10): two real
gunicorns, each with its own temp folder, optionally sharing a private Redis."""

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from testbed.pgbouncer import PgBouncer
from testbed.redis_server import RedisServer
from testbed.server import Gunicorn, free_port, request
from testbed.throwaway import ROOT, ThrowawayDatabase, manage, portal_env, run_in_portal

WORKERS_PER_HOST = 2
COUNTING = "testbed-count"
POOL_SIZE = 2  # the pooled variant's server connections: fewer than the 4 workers


@dataclass
class Cluster:
    database: ThrowawayDatabase
    hosts: list
    env: dict
    seed: dict
    directory: Path
    redis: RedisServer | None = None
    pgbouncer: PgBouncer | None = None
    logs: list = field(default_factory=list)

    def call(self, host, method, path, secret, *, generic=False, address="192.0.2.1"):
        """One API call to host 0 or 1, on the tenant's custom host name (or the generic
        one), from address (the load balancer's X-Forwarded-For)."""
        response, content = request(
            self.hosts[host].port,
            method,
            path,
            host="portal.localhost" if generic else self.seed["host"],
            headers={"Authorization": f"Token {secret}", "X-Forwarded-For": address},
        )
        return response.status, content

    def manage(self, *args, folder="command"):
        """manage.py in a process of its own, with another temp folder than either host."""
        return manage(*args, env=self.command_env(folder))

    def shell(self, function, payload=None):
        return run_in_portal(function, env=self.command_env("shell"), payload=payload)

    def command_env(self, folder):
        tmp = self.directory / f"tmp-{folder}"
        tmp.mkdir(exist_ok=True)
        return {**self.env, "TMPDIR": str(tmp)}

    def server_connections(self):
        """Sessions on the database that are not a listener's: the requests' connections,
        through the pooler's server connections when there is one."""
        import psycopg

        # Named, so that the sessions of earlier counts, which PostgreSQL may still be ending,
        # are not counted as the portal's.
        with psycopg.connect(self.database.url, application_name=COUNTING) as connection:
            return connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND application_name <> %s "
                "AND pid NOT IN (SELECT backend_pid FROM tokens_cachelistener)",
                [COUNTING],
            ).fetchone()[0]

    def listeners(self):
        return self.database.query(
            "SELECT count(*) FROM tokens_cachelistener WHERE lease_until > now()"
        )[0][0]


@contextlib.contextmanager
def cluster(directory, *, redis=False, pgbouncer=False, **variables):
    """pgbouncer: the hosts' requests go through a PgBouncer in transaction mode (POOL_SIZE
    server connections), their listeners to PostgreSQL directly, as the README says."""
    directory = Path(directory)
    database = ThrowawayDatabase(directory, label="hosts", engine="postgresql")
    server = redis and RedisServer(directory)
    pooler = pgbouncer and PgBouncer(pool_size=POOL_SIZE)
    try:
        if server:
            server.start()
        if pooler:
            pooler.start()
            variables = {
                "DATABASE_URL": pooler.url(database.name),
                "DATABASE_POOL_MODE": "transaction",
                "INVALIDATION_DATABASE_URL": database.url,
                **variables,
            }
        env = portal_env(
            database,
            DJANGO_SETTINGS_MODULE="testbed.served_settings",
            LOAD_STATIC_ROOT=str(directory / "static"),
            WEB_CONCURRENCY=str(WORKERS_PER_HOST),
            TOKEN_CACHE="on",
            TRUSTED_PROXIES="1",
            **({"CACHE_URL": server.url} if server else {}),
            **variables,
        )
        # Schema changes take a session of their own, past any pooler (docs/operations.md).
        direct = {"DATABASE_URL": database.url, "DATABASE_POOL_MODE": "session"}
        manage("migrate", "--noinput", "-v0", env={**env, **direct})
        manage("collectstatic", "--noinput", "-v0", env=env)
        seed = run_in_portal("testbed.seeds.hosts.main", env=env)
        with running_hosts(env, directory, database.query) as hosts:
            yield Cluster(database, hosts, env, seed, directory, server or None, pooler or None)
    finally:
        if server:
            server.stop()
        if pooler:
            pooler.stop()
        database.drop()


@contextlib.contextmanager
def running_hosts(env, directory, query, names=("a", "b"), releases=None):
    """A gunicorn per name on env's database, each with its own temp folder; yields them once
    every host's invalidation listener has registered. query(sql) returns rows of that
    database (the benchmark starts its hosts here too, with its own settings). releases: a
    (checkout, settings module) per host, for hosts of two releases at once (tests/upgrade);
    by default this checkout and env's settings."""
    directory, hosts = Path(directory), []
    try:
        for index, name in enumerate(names):
            port = free_port()
            tmp = directory / f"tmp-{name}"
            tmp.mkdir()
            host_env = {**env, "PORT": str(port), "PORTAL_PORT": str(port), "TMPDIR": str(tmp)}
            root = ROOT
            if releases:
                root, host_env["DJANGO_SETTINGS_MODULE"] = releases[index]
            host = Gunicorn(host_env, directory / f"host-{name}.log", root=root)
            host.start()
            hosts.append(host)
        deadline = time.monotonic() + 20
        while _listening(query, hosts) < len(names):
            assert time.monotonic() < deadline, "the hosts' listeners did not register"
            time.sleep(0.1)
        yield hosts
    finally:
        for host in hosts:
            host.stop()


def _listening(query, hosts):
    """Hosts whose invalidation listener has registered: one per host, in its master
    (web.invalidation.serve_host), or, on release 0.1.0 (tests/upgrade), one in each worker.
    Only these hosts' count: other processes on the database may listen too."""
    live = {
        pid for (pid,) in query("SELECT pid FROM tokens_cachelistener WHERE lease_until > now()")
    }
    return sum(
        host.process.pid in live or bool(workers := host.workers()) and workers <= live
        for host in hosts
    )
