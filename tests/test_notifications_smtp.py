"""The notification e-mails through a real SMTP server (aiosmtpd on a loopback port): what
arrives on the wire, and the crontab line of the README run as written."""

import email
import io
import os
import re
import shlex
import socket
import subprocess
import sys
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.models import NotificationSettings, SentNotification
from portal.settings import email_from_url
from tests.factories import TokenFactory, UserFactory
from tokens.services import token_revoke

ROOT = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)


class Inbox:
    """aiosmtpd's handler: keeps every envelope it accepts."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

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


def test_a_server_that_is_down_is_one_line_and_the_mail_goes_later(settings, operator):
    for name, value in email_from_url(f"smtp://127.0.0.1:{free_port()}").items():
        setattr(settings, name, value)
    expiring(operator, "Nightly export", 5 * DAY)
    with pytest.raises(CommandError) as failure:
        send()
    assert re.fullmatch(
        r"The mail server refused or could not be reached \(.*\); 0 sent before that, the "
        r"rest are sent on the next run\.",
        str(failure.value),
    )
    assert not SentNotification.objects.exists()


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


def env_with(port, database):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testbed.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


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


def test_the_documented_crontab_line_sends_once(smtp_server, tmp_path):
    env = env_with(smtp_server.url.rsplit(":", 1)[1], tmp_path / "db.sqlite3")
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True
    )
    first, second = run_cron_line(env), run_cron_line(env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "Sent 1 e-mail (1 expiring within a week, 0 expiring within a day, 0 expired, "
        "0 weekly digests).\n"
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
