"""The notification e-mails through a real SMTP server (aiosmtpd on a loopback port): what
arrives on the wire, and the crontab line of the README run as written."""

import asyncio
import contextlib
import email
import io
import os
import re
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from approvals.services import token_request_approve, token_request_create
from notifications.models import Delivery, NotificationSettings, SentNotification
from portal.settings import email_from_url
from tenants.models import Role
from tests.factories import TenantFactory, TokenFactory, UserFactory
from tokens.services import token_revoke

ROOT = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)


class Inbox:
    """aiosmtpd's handler: keeps every envelope it accepts. It answers 550 to the addresses in
    `refused`, and 421 (closing the connection) to a second message on one connection when
    `one_per_connection`. A slow server answers each DATA after `slow` seconds, or once
    `go_on` is set."""

    def __init__(self):
        self.received = []
        self.refused = set()
        self.one_per_connection = False
        self.slow = 0
        self.in_data = threading.Event()
        self.go_on = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.one_per_connection and getattr(session, "delivered", False):
            return "421 4.7.0 One message per connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.in_data.set()
        answer_at = time.monotonic() + self.slow
        while time.monotonic() < answer_at and not self.go_on.is_set():
            await asyncio.sleep(0.05)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        session.delivered = True
        return "250 Message accepted for delivery"

    def recipients(self):
        return sorted(recipient for _, recipients, _ in self.received for recipient in recipients)

    def subjects(self):
        # A long encoded subject is folded onto a continuation line; unfolded, the fold's
        # space leads.
        return sorted(subject(message) for _, _, message in self.received)


def subject(message):
    return str(message["Subject"]).strip()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_settings(smtp_server, settings):
    """This process's mail goes to the test's server, configured as EMAIL_URL would."""
    for name, value in email_from_url(smtp_server.url).items():
        setattr(settings, name, value)
    return smtp_server


def send(*args):
    out = io.StringIO()
    call_command("sendnotifications", *args, stdout=out)
    return out.getvalue()


def expiring(owner, name, expires_in):
    now = timezone.now()
    return TokenFactory(
        owner=owner, name=name, expires_at=now + expires_in, created_at=now - 60 * DAY
    )


def bodies(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_expiry_mails_arrive_with_both_bodies_and_links(smtp_settings, operator):
    week = expiring(operator, "Nightly export", 5 * DAY)
    expiring(operator, "Backup", 6 * timedelta(hours=1))
    expiring(operator, "Old report", -DAY)
    assert send().startswith("Sent 3 e-mails")
    inbox = smtp_settings
    assert inbox.subjects() == [
        "[Contoso] Your API token “Backup” expires within a day",
        "[Contoso] Your API token “Nightly export” expires in less than a week",
        "[Contoso] Your API token “Old report” has expired",
    ]
    for mail_from, recipients, message in inbox.received:
        assert mail_from == "no-reply@portal.localhost"
        assert recipients == ["operator@contoso.test"]
        assert message["To"] == "operator@contoso.test"
        assert message["Auto-Submitted"] == "auto-generated"
    message = next(m for _, _, m in inbox.received if "Nightly" in subject(m))
    text, html = bodies(message)
    link = f"http://contoso.us.portal.localhost/settings/security-extensions/api-tokens/{week.pk}/"
    assert link in text and f'href="{link}"' in html
    assert "http://contoso.us.portal.localhost/" in text
    assert 'Your API token "Nightly export" (atp_test…) in Contoso expires on' in text
    assert "<strong>Nightly export</strong>" in html


def test_the_disuse_warning_arrives_a_week_ahead_with_both_bodies(smtp_settings, operator, tenant):
    tenant.token_inactive_revoke_days = 90
    tenant.save(update_fields=["token_inactive_revoke_days"])
    idle = TokenFactory(owner=operator, name="Old sync", last_used_at=timezone.now() - 85 * DAY)
    out = send()
    assert out.startswith("Sent 1 e-mail")
    revoked_on = timezone.now() + 5 * DAY
    [(_, recipients, message)] = smtp_settings.received
    assert recipients == ["operator@contoso.test"]
    assert subject(message) == (
        f"[Contoso] API token “Old sync” will be revoked on {revoked_on:%Y-%m-%d} unless it is used"
    )
    text, html = bodies(message)
    link = f"http://contoso.us.portal.localhost/settings/security-extensions/api-tokens/{idle.pk}/"
    assert link in text and f'href="{link}"' in html
    assert f"will revoke it on {revoked_on:%Y-%m-%d}" in text
    assert f"<strong>{revoked_on:%Y-%m-%d}</strong>" in html
    assert send().startswith("Sent 0 e-mails")


def test_running_twice_sends_nothing_new_over_smtp(smtp_settings, operator):
    expiring(operator, "Nightly export", 5 * DAY)
    send()
    assert send().startswith("Sent 0 e-mails")
    assert len(smtp_settings.received) == 1


def test_no_mail_to_deprovisioned_owners_or_for_revoked_tokens(smtp_settings, operator, reader):
    revoked = expiring(reader, "Revoked", 5 * DAY)
    token_revoke(token=revoked)
    expiring(operator, "Orphan", 5 * DAY)
    operator.deprovision()
    assert send().startswith("Sent 0 e-mails")
    assert smtp_settings.received == []


def test_the_digest_arrives_for_full_admins_who_did_not_opt_out(
    smtp_settings, full_admin, operator, tenant
):
    quiet = UserFactory(tenant=tenant, role="full_admin", email="quiet@contoso.test")
    NotificationSettings.objects.create(user=quiet, weekly_digest=False)
    TokenFactory(owner=operator, last_used_at=timezone.now() - 100 * DAY)
    send()
    [(_, recipients, message)] = smtp_settings.received
    assert recipients == ["admin@contoso.test"]
    assert subject(message) == "[Contoso] Weekly API token hygiene"
    text, html = bodies(message)
    table = "http://contoso.us.portal.localhost/settings/security-extensions/api-tokens/"
    assert "- 1 token unused for 90 days or more" in text
    assert f"{table}?status=all&unused=90" in text
    assert (
        f'<a href="{table}?status=all&amp;owner=deprovisioned"><strong>0</strong> tokens</a>'
        in html
    )


@contextlib.contextmanager
def unusable_server(kind):
    """The EMAIL_URL of a mail server that cannot be used, in one of three ways."""
    if kind == "nothing listening":
        yield f"smtp://127.0.0.1:{free_port()}"
    elif kind == "closes at once":
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            listener.settimeout(0.1)
            stop = threading.Event()

            def hang_up():
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        listener.accept()[0].close()

            thread = threading.Thread(target=hang_up, daemon=True)
            thread.start()
            yield f"smtp://127.0.0.1:{listener.getsockname()[1]}"
            stop.set()
            thread.join()
    else:  # refuses the password
        controller = Controller(
            Inbox(),
            hostname="127.0.0.1",
            port=free_port(),
            auth_require_tls=False,
            authenticator=lambda *args: AuthResult(success=False, handled=False),  # 535
        )
        controller.start()
        yield f"smtp://portal:not-the-password@127.0.0.1:{controller.port}"
        controller.stop()


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("nothing listening", "Connection refused"),
        ("closes at once", "Connection unexpectedly closed"),
        ("refuses the password", "535"),
    ],
)
def test_a_server_that_cannot_be_used_stops_the_run_with_one_line(settings, operator, kind, reason):
    expiring(operator, "Nightly export", 5 * DAY)
    with unusable_server(kind) as url:
        for name, value in email_from_url(url).items():
            setattr(settings, name, value)
        with pytest.raises(CommandError) as failure:
            send()
    assert re.fullmatch(
        r"The mail server refused or could not be reached \(.*\); 0 sent and 0 failed before "
        r"that, the rest are sent on the next run\.",
        str(failure.value),
    )
    assert reason in str(failure.value) and "not-the-password" not in str(failure.value)
    assert not SentNotification.objects.exists()  # nothing waits for a back-off


# --- One refused recipient stops nothing else (security review 3, finding 3) --------------------


def test_a_refused_recipient_does_not_stop_the_other_tenants_digests(smtp_settings, db):
    first, last = TenantFactory(slug="aaa", name="Aaa"), TenantFactory(slug="zzz", name="Zzz")
    absent = UserFactory(tenant=first, role=Role.FULL_ADMIN, email="absent@aaa.test")
    UserFactory(tenant=first, role=Role.FULL_ADMIN, email="admin@aaa.test")
    for address in ("admin1@zzz.test", "admin2@zzz.test"):
        UserFactory(tenant=last, role=Role.FULL_ADMIN, email=address)
    for tenant in (first, last):
        owner = UserFactory(tenant=tenant)
        TokenFactory(owner=owner, last_used_at=timezone.now() - 100 * DAY)
    smtp_settings.refused = {"absent@aaa.test"}  # 550, before anyone else's digest
    with pytest.raises(CommandError) as failure:
        send()
    assert str(failure.value) == (
        "Sent 3 e-mails (0 expiring within a week, 0 expiring within a day, 0 expired, "
        "3 weekly digests); 1 failed, 0 deferred."
    )
    assert smtp_settings.recipients() == ["admin1@zzz.test", "admin2@zzz.test", "admin@aaa.test"]
    failed = SentNotification.objects.get(recipient=absent)
    assert failed.delivery == Delivery.FAILED and "550" in failed.last_error
    # The next run (an hour later, by cron) does not knock on that door again.
    assert send().endswith("; 0 failed, 1 deferred.\n")
    assert len(smtp_settings.received) == 3


def test_a_server_that_closes_the_connection_gets_a_new_one(smtp_settings, operator):
    smtp_settings.one_per_connection = True  # 421 to a second message on one connection
    for name in ("One", "Two", "Three"):
        expiring(operator, name, 5 * DAY)
    assert send().startswith("Sent 3 e-mails")
    assert len(smtp_settings.received) == 3


def crontab_line():
    """The crontab line the README documents."""
    readme = (ROOT / "README.md").read_text()
    [line] = re.findall(r"^\s+(\S+ \S+ \S+ \S+ \S+ +cd .* sendnotifications.*)$", readme, re.M)
    assert line in (ROOT / "docs" / "operations.md").read_text()  # the same line in both
    return line


def run_cron_line(env):
    command = shlex.split(crontab_line().split("&&", 1)[1])
    assert command[:3] == [".venv/bin/python", "manage.py", "sendnotifications"]
    return subprocess.run(
        [sys.executable, *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory):
    """A migrated SQLite file, made once: each test that runs manage.py gets a copy."""
    database = tmp_path_factory.mktemp("migrated") / "db.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testbed.settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return database


def env_with(smtp_server, database, *seeds):
    """Environment for manage.py on this database and mail server, after the seed scripts."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testbed.settings",
        "DATABASE_URL": f"sqlite:///{database}" if isinstance(database, Path) else database,
        "EMAIL_URL": smtp_server.url,
    }
    for seed in seeds:
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True
        )
    return env


@pytest.fixture
def scratch_database(migrated_database, tmp_path):
    database = tmp_path / "db.sqlite3"
    shutil.copy(migrated_database, database)
    return database


@pytest.fixture
def run_database(request, scratch_database):
    """Where manage.py runs in a subprocess: a scratch SQLite file, or on PostgreSQL the test
    database itself (the subprocesses commit, so transactional_db empties it afterwards)."""
    if connection.vendor != "postgresql":
        return scratch_database
    request.getfixturevalue("transactional_db")
    db = connection.settings_dict
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def manage(env, *args):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


SEED = """
from datetime import timedelta
from django.utils import timezone
from tenants.models import Role, Tenant, User
from tokens.models import Token
from tokens.services import token_issue
tenant = Tenant.objects.create(slug="cron", name="Cron Corp")
owner = User.objects.create_user("owner@cron.test", tenant=tenant, role=Role.SECURITY_OPERATOR)
token = token_issue(owner=owner, name="Nightly export").token
now = timezone.now()
Token.objects.filter(pk=token.pk).update(created_at=now - timedelta(days=60),
                                         expires_at=now + timedelta(days=3))
"""


def test_the_documented_crontab_line_sends_once(smtp_server, scratch_database):
    env = env_with(smtp_server, scratch_database, SEED)
    first, second = run_cron_line(env), run_cron_line(env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "Sent 1 e-mail (1 expiring within a week, 0 expiring within a day, 0 expired, "
        "0 weekly digests); 0 failed, 0 deferred.\n"
    )
    assert second.stdout.startswith("Sent 0 e-mails")
    [(_, recipients, message)] = smtp_server.received
    assert recipients == ["owner@cron.test"]
    assert (
        subject(message)
        == "[Cron Corp] Your API token “Nightly export” expires in less than a week"
    )
    assert (
        "http://cron.us.portal.localhost/settings/security-extensions/api-tokens/"
        in (bodies(message)[0])
    )


# --- No write lock while the mail server answers (security review 3, finding 6) -----------------


def test_the_portal_writes_while_a_slow_mail_server_answers(smtp_server, scratch_database):
    env = env_with(smtp_server, scratch_database, SEED)
    smtp_server.slow = 20  # until the write below is done
    run = manage(env, "sendnotifications")
    try:
        assert smtp_server.in_data.wait(30), run.communicate()
        # What an API call's write does meanwhile (SQLite: IMMEDIATE), with a short busy timeout.
        started = time.monotonic()
        with contextlib.closing(
            sqlite3.connect(scratch_database, timeout=1, isolation_level=None)
        ) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE tenants_tenant SET name = 'Cron Corporation' WHERE slug = 'cron'")
            db.execute("COMMIT")
        waited = time.monotonic() - started
    finally:
        smtp_server.go_on.set()
        out, err = run.communicate(timeout=60)
    assert waited < 0.5
    assert run.returncode == 0, err
    assert out.startswith("Sent 1 e-mail") and len(smtp_server.received) == 1


SEED_OWNERS = """
from datetime import timedelta
from django.utils import timezone
from tenants.models import Role, Tenant, User
from tokens.models import Token
from tokens.services import token_issue
tenant = Tenant.objects.create(slug="race", name="Race Corp")
now = timezone.now()
for n in range(4):
    owner = User.objects.create_user(f"owner{n}@race.test", tenant=tenant,
                                     role=Role.SECURITY_OPERATOR)
    token = token_issue(owner=owner, name=f"Export {n}").token
    Token.objects.filter(pk=token.pk).update(created_at=now - timedelta(days=60),
                                             expires_at=now + timedelta(days=3))
"""


def test_two_runs_at_once_send_each_mail_once(smtp_server, run_database):
    env = env_with(smtp_server, run_database, SEED_OWNERS)
    smtp_server.slow = 0.5  # each run still sending while the other claims
    runs = [manage(env, "sendnotifications") for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    sent = [
        int(re.match(r"Sent (\d+) e-mails?.*; 0 failed, 0 deferred", out)[1]) for out, _ in outputs
    ]
    assert sum(sent) == 4
    assert smtp_server.recipients() == [f"owner{n}@race.test" for n in range(4)]


def test_bad_arguments_are_one_line_from_the_shell(shell_env):
    for args in (["--tenant", "nope"], ["--days", "3"], ["--tenant"]):
        result = subprocess.run(
            [sys.executable, "manage.py", "sendnotifications", *args],
            cwd=ROOT,
            env=shell_env,
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("manage.py sendnotifications: error: argument --tenant")


def test_a_token_request_decision_arrives_over_smtp_without_the_secret(
    smtp_settings, operator, full_admin, tenant
):
    tenant.token_approval_required = True
    tenant.save()
    request = token_request_create(
        requester=operator,
        name="Nightly export",
        reason="Data lake",
        access="read_write",
        allowed_networks=[],
        expires_at=None,
    )
    token_request_approve(
        request=request, by=full_admin, access="read_only", allowed_networks=[], expires_at=None
    )
    send()
    message = next(m for _, _, m in smtp_settings.received if "approved" in subject(m))
    text, html = bodies(message)
    assert message["To"] == "operator@contoso.test"
    assert "Reveal it on your API tokens page before" in text
    assert "read only, not read and write" in html
    assert "atp_" not in text and "atp_" not in html
