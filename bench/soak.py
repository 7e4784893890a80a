"""Part 9: the usage soak (security review 3, finding 2), on PostgreSQL only.

Tokens called from many networks must not stall the workers that write their usage. gunicorn
(the project's gunicorn.conf.py, 2 workers, the bench settings, the production
TOKEN_LAST_USED_RESOLUTION of 60 s) serves this database. TOKENS API tokens in TENANTS
tenants are called by CLIENTS threads as fast as the workers answer, each call from a random
address of one of NETWORKS /24 networks of 127/8: the client socket is bound to that address,
so the server sees it as the peer. Meanwhile one token a second is revoked through the API by
its tenant's full admin, and the clients send a share of their calls with the tokens just
revoked or about to be.

Reported: calls and answers by status, 5xx and failed connections, worker boots after the
first ones and WORKER TIMEOUT lines in gunicorn's log, calls accepted with a token after its
revocation returned, the workers' resident memory every RSS_EVERY seconds; and once gunicorn
has stopped (a worker writes what it still holds as it exits): the requests counted in the
database against those answered (counts lost), the networks recorded and the new-network
events, at most per token.
"""

import http.client
import os
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Count, Sum

from testbed.server import Gunicorn

from .http_auth import free_port

TENANTS = 20
TOKENS = 500
NETWORKS = 180  # /24s of 127/8, 127.16.0.0/24 onwards
CLIENTS = 6
WORKERS = 2
REVOCATIONS_PER_SECOND = 1
HOT_SHARE = 0.3  # of the calls, with the tokens just revoked or next in line
RSS_EVERY = 5  # seconds
ME = "/api/v1/me/"


@dataclass(frozen=True)
class SoakFixtures:
    hosts: list  # per tenant, its host name
    admins: list  # per tenant, its full admin's API token (it revokes the tenant's tokens)
    tokens: list  # (token id, secret, tenant number) of the tokens the clients call


@transaction.atomic
def seed_soak(tenants, tokens):
    """`tokens` API tokens spread over `tenants` tenants, each tenant with a full admin (who
    owns them and revokes them through the API) and the admin's own token. Issued by the
    real service, since the clients need their secrets."""
    # Imported here: the models need Django set up, which bench.suite does before calling.
    from tenants.models import Role, Tenant, User
    from tokens.services import token_issue

    hosts, admins, issued = [], [], []
    for number in range(tenants):
        tenant = Tenant.objects.create(slug=f"soak{number}", name=f"Soak {number}")
        admin = User.objects.create_user(
            f"admin@{tenant.slug}.bench", None, tenant=tenant, role=Role.FULL_ADMIN
        )
        hosts.append(tenant.host)
        admins.append(token_issue(owner=admin, name="Soak admin client").secret)
        for index in range(number, tokens, tenants):
            one = token_issue(owner=admin, name=f"Soak client {index}")
            issued.append((str(one.token.pk), one.secret, number))
    return SoakFixtures(hosts=hosts, admins=admins, tokens=issued)


def soak(fixtures, *, seconds, progress):
    if connection.vendor != "postgresql":
        return {"skipped": "the soak runs on PostgreSQL: run with --db postgres"}
    connection.close()  # the workers open their own
    with tempfile.TemporaryDirectory(prefix="portal-bench-soak-") as directory:
        server = Gunicorn(_env(), Path(directory) / "gunicorn.log")
        server.start()
        run = Run(server=server, fixtures=fixtures)
        try:
            progress(
                f"soak: {seconds} s, {CLIENTS} clients from {NETWORKS} networks, "
                f"{REVOCATIONS_PER_SECOND} revocation/s"
            )
            run.go(seconds)
            before_stop = _requests_counted()  # what the workers' flushers wrote meanwhile
        finally:
            server.stop()  # graceful: each worker flushes what it holds
        log = server.log()
    figures = run.figures()
    answered = figures["answered_200"] + figures["revocations"]  # a revocation is a use too
    return {
        **figures,
        **_log_figures(log),
        **_database_figures(answered),
        "requests_counted_before_stop": before_stop,
    }


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "TOKEN_"))}
    port = free_port()
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        WEB_CONCURRENCY=str(WORKERS),
        PORT=str(port),
        TOKEN_CACHE="on",
        TRUSTED_PROXIES="0",  # the peer address is the client's: the bound 127.x.y.z
        DRAIN_SECONDS="0",  # no load balancer to wait for: stop at once
    )
    return env


def address(rng):
    network = rng.randrange(NETWORKS)
    return f"127.{16 + network // 250}.{network % 250}.{rng.randint(1, 254)}"


@dataclass
class Run:
    server: Gunicorn
    fixtures: object
    stop: threading.Event = field(default_factory=threading.Event)
    calls: list = field(default_factory=list)  # (token number, sent, status or None)
    revoked: dict = field(default_factory=dict)  # token number -> when its revocation returned
    revoke_statuses: Counter = field(default_factory=Counter)
    next_revoked: int = 0
    rss: list = field(default_factory=list)  # (seconds in, {worker pid: MB})
    seconds: float = 0.0

    def go(self, seconds):
        threads = [
            threading.Thread(target=self.client, args=(random.Random(n),)) for n in range(CLIENTS)
        ]
        threads += [threading.Thread(target=self.revoker), threading.Thread(target=self.sampler)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        self.seconds = time.monotonic() - began

    def client(self, rng):
        tokens = self.fixtures.tokens
        while not self.stop.is_set():
            current = self.next_revoked
            if rng.random() < HOT_SHARE:
                number = rng.randint(max(0, current - 2), min(current, len(tokens) - 1))
            else:
                number = rng.randrange(min(current, len(tokens) - 1), len(tokens))
            _token_id, secret, tenant = tokens[number]
            sent = time.monotonic()
            status = _call(self.server.port, "GET", ME, self.fixtures.hosts[tenant], secret, rng)
            self.calls.append((number, sent, status))

    def revoker(self):
        rng = random.Random(-1)
        began = time.monotonic()
        for number, (token_id, _secret, tenant) in enumerate(self.fixtures.tokens):
            wait = began + number / REVOCATIONS_PER_SECOND - time.monotonic()
            if self.stop.wait(max(0.0, wait)):
                return
            self.next_revoked = number
            path = f"/api/v1/tokens/{token_id}/"
            host, admin = self.fixtures.hosts[tenant], self.fixtures.admins[tenant]
            status = _call(self.server.port, "DELETE", path, host, admin, rng)
            self.revoke_statuses[status] += 1
            if status == 204:
                self.revoked[number] = time.monotonic()
            self.next_revoked = number + 1

    def sampler(self):
        began = time.monotonic()
        while True:
            sample = {pid: _rss_mb(pid) for pid in self.server.workers()}
            self.rss.append((round(time.monotonic() - began), sample))
            if self.stop.wait(RSS_EVERY):
                return

    def figures(self):
        statuses = Counter(status for _number, _sent, status in self.calls)
        leaked = sum(
            1
            for number, sent, status in self.calls
            if status == 200 and number in self.revoked and sent > self.revoked[number]
        )
        revocations = self.revoke_statuses[204]
        return {
            "seconds": self.seconds,
            "tokens": len(self.fixtures.tokens),
            "tenants": len(self.fixtures.hosts),
            "networks": NETWORKS,
            "clients": CLIENTS,
            "workers": WORKERS,
            "calls": len(self.calls),
            "calls_per_second": len(self.calls) / self.seconds if self.seconds else 0.0,
            "statuses": {str(status): count for status, count in sorted(statuses.items(), key=str)},
            "server_errors": sum(n for s, n in statuses.items() if s is not None and s >= 500),
            "failed_connections": statuses[None],
            "answered_200": statuses[200],
            "revocations": revocations,
            "revocations_wanted": REVOCATIONS_PER_SECOND,
            "revocations_per_second": revocations / self.seconds if self.seconds else 0.0,
            "revoke_failures": sum(self.revoke_statuses.values()) - revocations,
            "accepted_after_revocation": leaked,
            "rss_mb": self.rss,
        }


def _call(port, method, path, host, secret, rng):
    """One call on a new connection from a random address of the networks; its status, or
    None when the connection failed (a worker killed mid-request, say)."""
    client = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=40, source_address=(address(rng), 0)
    )
    try:
        client.request(method, path, headers={"Host": host, "Authorization": f"Token {secret}"})
        response = client.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        client.close()


def _rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _log_figures(log):
    boots = log.count("Booting worker with pid")
    return {
        "worker_boots_after_start": max(0, boots - WORKERS),
        "worker_timeouts": log.count("WORKER TIMEOUT"),
        "log_errors": sum(1 for line in log.splitlines() if " ERROR " in line),
    }


SOAK_TOKENS = {"token__tenant__slug__startswith": "soak"}


def _requests_counted():
    # Imported here: the models need Django set up, which bench.suite does before calling.
    from tokens.models import TokenUsage

    counted = TokenUsage.objects.filter(**SOAK_TOKENS).aggregate(total=Sum("requests"))
    connection.close()
    return counted["total"] or 0


def _database_figures(answered):
    from audit.models import Action, AuditEvent
    from tokens.models import TokenNetwork

    counted = _requests_counted()
    networks = TokenNetwork.objects.filter(**SOAK_TOKENS)
    events = AuditEvent.objects.filter(action=Action.TOKEN_NEW_NETWORK, **SOAK_TOKENS)
    per_token = events.values("token").annotate(n=Count("pk")).order_by("-n").first()
    found = {
        "requests_answered": answered,
        "requests_counted": counted,
        "counts_lost": answered - counted,
        "networks_recorded": networks.count(),
        "networks_flagged": networks.filter(flagged_at__isnull=False).count(),
        "new_network_events": events.count(),
        "most_events_for_one_token": per_token["n"] if per_token else 0,
    }
    connection.close()
    return found
