"""Expiry warnings, the weekly digest and the notification settings page (CONTRACT §13), with
Django's in-memory mail outbox. tests/test_notifications_smtp.py sends through a real SMTP
server."""

import io
import os
import re
import smtplib
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from notifications import mail as mail_module
from notifications.delivery import MAX_ATTEMPTS, deliver, retry_delay
from notifications.events import due_notifications, week_key
from notifications.models import (
    CLAIM_LEASE,
    Delivery,
    Kind,
    NotificationSettings,
    SentNotification,
)
from portal.settings import email_from_url
from tenants.models import Role, User
from tests.factories import TokenFactory, UserFactory
from tokens.models import TokenKind
from tokens.services import token_revoke

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
ISSUED_LONG_AGO = timedelta(days=60)


def send(*args):
    out = io.StringIO()
    call_command("sendnotifications", *args, stdout=out)
    return out.getvalue()


def expiring(owner, name, expires_in, **fields):
    now = timezone.now()
    fields.setdefault("created_at", now - ISSUED_LONG_AGO)
    return TokenFactory(owner=owner, name=name, expires_at=now + expires_in, **fields)


def subjects(outbox=None):
    return sorted(message.subject for message in (outbox or mail.outbox))


def test_owners_are_warned_a_week_and_a_day_ahead_and_told_when_expired(operator):
    expiring(operator, "week", 5 * DAY)
    expiring(operator, "day", 3 * timedelta(hours=4))
    expiring(operator, "gone", -2 * DAY)
    expiring(operator, "later", 30 * DAY)
    expiring(operator, "long gone", -30 * DAY)
    out = send()
    assert subjects() == [
        "[Contoso] Your API token “day” expires within a day",
        "[Contoso] Your API token “gone” has expired",
        "[Contoso] Your API token “week” expires in less than a week",
    ]
    assert all(message.to == ["operator@contoso.test"] for message in mail.outbox)
    assert out == (
        "Sent 3 e-mails (1 expiring within a week, 1 expiring within a day, 1 expired, "
        "0 weekly digests); 0 failed, 0 deferred.\n"
    )


def test_running_twice_sends_nothing_new(operator):
    expiring(operator, "week", 5 * DAY)
    send()
    assert send().startswith("Sent 0 e-mails")
    assert len(mail.outbox) == 1
    assert SentNotification.objects.count() == 1


def test_each_warning_is_sent_once_as_the_token_moves_through_them(operator):
    token = expiring(operator, "moving", 5 * DAY)
    send()
    token.expires_at = timezone.now() + timedelta(hours=12)  # a day later, as time passes
    token.save()
    send()
    send()
    assert [m.subject for m in mail.outbox] == [
        "[Contoso] Your API token “moving” expires in less than a week",
        "[Contoso] Your API token “moving” expires within a day",
    ]


def test_a_run_that_lost_the_race_to_another_sends_nothing(operator):
    expiring(operator, "raced", 5 * DAY)
    [due] = due_notifications(timezone.now())
    # Another run records and sends the same event between this run's query and its send.
    SentNotification.objects.create(
        kind=due.kind,
        tenant=due.tenant,
        token=due.token,
        recipient=due.recipient,
        period_key=due.period_key,
    )
    assert deliver(due) is None
    assert mail.outbox == []
    assert SentNotification.objects.count() == 1


def test_a_rotated_token_gets_a_new_round_of_warnings(operator):
    token = expiring(operator, "rotated", 5 * DAY)
    send()
    token.rotated_at = timezone.now() - 40 * DAY
    token.expires_at = timezone.now() + 6 * DAY
    token.save()
    send()
    assert len(mail.outbox) == 2
    assert SentNotification.objects.filter(token=token).count() == 2


def test_a_token_issued_inside_the_warning_window_gets_no_early_warning(operator):
    TokenFactory(owner=operator, name="short", expires_at=timezone.now() + 5 * DAY)
    assert send().startswith("Sent 0 e-mails")


def test_none_for_revoked_tokens_but_an_expiry_notice_after_the_sweep(operator):
    revoked = expiring(operator, "revoked", 5 * DAY)
    token_revoke(token=revoked)
    swept = expiring(operator, "swept", -DAY)
    call_command("sweeptokens", stdout=io.StringIO())
    revoked_before_expiry = expiring(operator, "revoked early", -DAY)
    revoked_before_expiry.revoked_at = timezone.now() - 2 * DAY
    revoked_before_expiry.save()
    send()
    assert swept.__class__.objects.get(pk=swept.pk).revoked_at is not None
    assert subjects() == ["[Contoso] Your API token “swept” has expired"]


def test_none_to_deprovisioned_owners(operator):
    expiring(operator, "orphan", 5 * DAY)
    operator.deprovision()
    assert send().startswith("Sent 0 e-mails")
    assert mail.outbox == []


def test_only_api_tokens_are_mailed_about(operator):
    expiring(operator, "siem", 5 * DAY, kind=TokenKind.SIEM)
    assert send().startswith("Sent 0 e-mails")


def test_the_week_ahead_warning_can_be_turned_off_but_not_the_last_ones(operator):
    NotificationSettings.objects.create(user=operator, expiry_week_ahead=False)
    expiring(operator, "week", 5 * DAY)
    expiring(operator, "day", 12 * timedelta(hours=1))
    expiring(operator, "gone", -DAY)
    send()
    assert subjects() == [
        "[Contoso] Your API token “day” expires within a day",
        "[Contoso] Your API token “gone” has expired",
    ]


def test_the_expiry_mail_links_the_token_on_the_tenants_custom_url(operator, settings):
    settings.PORTAL_PORT = "8443"
    token = expiring(operator, "Nightly <export>", 5 * DAY)
    send()
    message = mail.outbox[0]
    link = f"http://contoso.us.portal.localhost:8443/settings/security-extensions/api-tokens/{token.pk}/"
    html = message.alternatives[0].content
    assert link in message.body and f'href="{link}"' in html
    assert 'Your API token "Nightly <export>"' in message.body
    assert "Nightly &lt;export&gt;" in html and "<export>" not in html
    assert "atp_test…" in message.body
    assert "http://contoso.us.portal.localhost:8443/account/notifications/" in message.body
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert message.from_email == "API Token Portal <no-reply@portal.localhost>"


def test_the_mails_never_carry_a_token_secret(operator, issue):
    token, secret = issue(operator, "Real token", expires_at=timezone.now() + 5 * DAY)
    type(token).objects.filter(pk=token.pk).update(created_at=timezone.now() - ISSUED_LONG_AGO)
    send()
    [message] = mail.outbox
    assert token.hint in message.body
    for part in (message.subject, message.body, message.alternatives[0].content):
        assert secret not in part and secret[len(token.hint) :] not in part


def test_full_admins_get_a_weekly_digest_with_counts_and_links(full_admin, operator, reader):
    now = timezone.now()
    UserFactory(tenant=full_admin.tenant, role=Role.FULL_ADMIN, email="second@contoso.test")
    gone_admin = UserFactory(tenant=full_admin.tenant, role=Role.FULL_ADMIN, email="x@contoso.test")
    TokenFactory(owner=gone_admin)
    gone_admin.deprovision()
    TokenFactory(owner=reader, created_at=now - 100 * DAY)
    TokenFactory(owner=operator, last_used_at=now - 91 * DAY)
    TokenFactory(owner=operator, expires_at=now + 3 * DAY)
    send()
    digests = [m for m in mail.outbox if "hygiene" in m.subject]
    assert sorted(m.to[0] for m in digests) == ["admin@contoso.test", "second@contoso.test"]
    body = digests[0].body
    assert "- 1 token of deprovisioned owners" in body
    assert "- 2 tokens unused for 90 days or more" in body
    assert "- 1 token expiring within the week" in body
    table = "http://contoso.us.portal.localhost/settings/security-extensions/api-tokens/"
    assert f"{table}?status=all&owner=deprovisioned" in body
    assert f"{table}?status=all&unused=90" in body
    assert f"{table}?status=all&expiring=soon" in body
    assert (
        f'href="{table}?status=all&amp;owner=deprovisioned"' in digests[0].alternatives[0].content
    )
    assert (
        SentNotification.objects.filter(kind=Kind.WEEKLY_DIGEST, period_key=week_key(now)).count()
        == 2
    )
    mail.outbox.clear()
    send()
    assert mail.outbox == []


def test_the_digest_counts_tokens_used_from_a_new_network_until_reviewed(full_admin, operator):
    from tokens import sightings

    token = TokenFactory(owner=operator, last_used_at=timezone.now())
    now = timezone.now()
    sightings.note_addresses(token.pk, {"192.0.2.1": now})  # its baseline: nothing to report
    assert send().startswith("Sent 0 e-mails")
    sightings.note_addresses(token.pk, {"203.0.113.1": now})
    send()
    (digest,) = mail.outbox
    assert "- 1 token used from a new network and not reviewed yet" in digest.body
    overview = "http://contoso.us.portal.localhost/settings/security-extensions/api-usage/"
    assert f"{overview}#new-networks" in digest.body
    assert f'href="{overview}#new-networks"' in digest.alternatives[0].content

    sightings.mark_reviewed(token, by=full_admin)
    from notifications.events import hygiene_counts

    assert hygiene_counts(full_admin.tenant, now)["new_networks"] == 0


def test_no_digest_when_there_is_nothing_to_report(full_admin):
    TokenFactory(owner=full_admin, last_used_at=timezone.now())
    assert send().startswith("Sent 0 e-mails")


def test_the_digest_can_be_turned_off(full_admin):
    TokenFactory(owner=full_admin, expires_at=timezone.now() + 3 * DAY)
    NotificationSettings.objects.create(user=full_admin, weekly_digest=False)
    send()
    assert mail.outbox == []


def test_tenants_are_kept_apart(full_admin, other_tenant_admin):
    TokenFactory(owner=full_admin, expires_at=timezone.now() + 3 * DAY)
    send("--tenant", "fabrikam")
    assert mail.outbox == []
    assert send() == (
        "Sent 1 e-mail (0 expiring within a week, 0 expiring within a day, 0 expired, "
        "1 weekly digest); 0 failed, 0 deferred.\n"
    )
    assert [m.to for m in mail.outbox] == [["admin@contoso.test"]]
    assert "fabrikam" not in mail.outbox[0].body.lower()


def test_dry_run_lists_and_sends_nothing(operator):
    expiring(operator, "week", 5 * DAY)
    out = send("--dry-run")
    assert out.splitlines() == [
        "contoso: Token expires within a week to operator@contoso.test (token “week”)",
        "Would send 1 e-mail (1 expiring within a week, 0 expiring within a day, 0 expired, "
        "0 weekly digests); 0 deferred.",
    ]
    assert mail.outbox == [] and not SentNotification.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope"], "No tenant with slug 'nope'."),
        (["--tenant", "x" * 500], "No tenant with slug 'xxxx"),
    ],
)
def test_bad_arguments_are_one_line(db, args, message):
    with pytest.raises(CommandError, match=message):
        send(*args)


def test_an_unknown_option_is_refused(db):
    with pytest.raises(CommandError, match="unrecognized arguments: --now"):
        send("--now", "tomorrow")


def test_a_mail_server_that_fails_records_nothing(operator, monkeypatch):
    expiring(operator, "week", 5 * DAY)

    def refuse(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    with pytest.raises(CommandError) as failure:
        send()
    assert str(failure.value) == (
        "The mail server refused or could not be reached ([Errno 111] Connection refused); "
        "0 sent and 0 failed before that, the rest are sent on the next run."
    )
    assert not SentNotification.objects.exists()
    monkeypatch.undo()
    send()
    assert len(mail.outbox) == 1


# --- One e-mail that fails stops nothing else (security review 3, finding 3) ------------------

UNMAILABLE = "x@a\u05d0.com"  # EmailValidator accepts it; the IDNA codec of every backend not
SUMMARY = "0 expiring within a week, 0 expiring within a day, 0 expired, 0 weekly digests"


def with_old_address(user, email=UNMAILABLE):
    """A user saved before addresses were checked: the row written as it is."""
    User.objects.filter(pk=user.pk).update(email=email)
    user.refresh_from_db()
    return user


def send_failing(*args):
    """Run the command, which must fail: its one-line error."""
    with pytest.raises(CommandError) as failure:
        send(*args)
    return str(failure.value)


def retry_due():
    """As if the back-off had passed."""
    SentNotification.objects.update(next_attempt_at=timezone.now())


def test_a_mail_that_fails_is_recorded_and_the_other_tenants_mails_go_out(
    full_admin, operator, other_tenant_admin, caplog
):
    with_old_address(full_admin)  # contoso, before fabrikam
    TokenFactory(owner=operator, last_used_at=timezone.now() - 100 * DAY)
    TokenFactory(owner=other_tenant_admin, last_used_at=timezone.now() - 100 * DAY)
    expiring(operator, "week", 5 * DAY)
    assert send_failing() == (
        "Sent 2 e-mails (1 expiring within a week, 0 expiring within a day, 0 expired, "
        "1 weekly digest); 1 failed, 0 deferred."
    )
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@fabrikam.test", "operator@contoso.test"]
    failed = SentNotification.objects.get(recipient=full_admin)
    assert (failed.delivery, failed.attempts, failed.sent_at) == (Delivery.FAILED, 1, None)
    wait = failed.next_attempt_at - timezone.now()
    assert timedelta(minutes=59) < wait <= timedelta(hours=1)
    assert "idna" in failed.last_error
    assert f"weekly_digest to user {full_admin.pk} of tenant contoso, attempt 1, next at" in (
        caplog.text
    )


def test_a_failed_mail_waits_for_its_back_off_then_is_tried_again(operator):
    with_old_address(operator)
    expiring(operator, "week", 5 * DAY)
    send_failing()
    assert send() == f"Sent 0 e-mails ({SUMMARY}); 0 failed, 1 deferred.\n"
    retry_due()
    assert send_failing().endswith("; 1 failed, 0 deferred.")
    row = SentNotification.objects.get()
    assert row.attempts == 2
    assert timedelta(hours=1, minutes=59) < row.next_attempt_at - timezone.now() <= 2 * HOUR
    with_old_address(operator, "operator@contoso.test")  # fixed in the meantime
    retry_due()
    assert send().startswith("Sent 1 e-mail")
    row.refresh_from_db()
    assert (row.delivery, row.attempts, row.next_attempt_at) == (Delivery.SENT, 2, None)
    assert row.sent_at is not None and mail.outbox[0].to == ["operator@contoso.test"]


def test_the_back_off_doubles_from_an_hour_up_to_a_day():
    hours = [retry_delay(attempts) / HOUR for attempts in range(1, MAX_ATTEMPTS)]
    assert hours == [1, 2, 4, 8, 16, 24, 24]


def test_a_mail_is_given_up_after_its_last_attempt(operator):
    with_old_address(operator)
    expiring(operator, "week", 5 * DAY)
    send_failing()
    SentNotification.objects.update(attempts=MAX_ATTEMPTS - 1)
    retry_due()
    assert send_failing().endswith("; 1 failed (1 given up after 8 attempts), 0 deferred.")
    row = SentNotification.objects.get()
    assert (row.delivery, row.attempts, row.next_attempt_at) == (Delivery.GAVE_UP, 8, None)
    assert send() == f"Sent 0 e-mails ({SUMMARY}); 0 failed, 0 deferred.\n"


def test_dry_run_names_the_mails_waiting_for_a_retry(operator):
    with_old_address(operator)
    expiring(operator, "week", 5 * DAY)
    send_failing()
    retry = SentNotification.objects.get().next_attempt_at
    assert send("--dry-run").splitlines() == [
        f"contoso: Token expires within a week to {UNMAILABLE} (token “week”) (failed before; "
        f"deferred until {retry:%Y-%m-%d %H:%M} UTC)",
        f"Would send 0 e-mails ({SUMMARY}); 1 deferred.",
    ]


def test_an_old_unmailable_address_does_not_stop_the_console_backend(
    full_admin, operator, settings, capsys
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    with_old_address(full_admin)
    TokenFactory(owner=operator, last_used_at=timezone.now() - 100 * DAY)
    expiring(operator, "week", 5 * DAY)
    assert send_failing().startswith("Sent 1 e-mail (1 expiring within a week,")
    printed = capsys.readouterr().out
    assert "To: operator@contoso.test" in printed and "Weekly API token hygiene" not in printed
    assert SentNotification.objects.get(recipient=full_admin).delivery == Delivery.FAILED


def test_a_mail_that_cannot_be_composed_fails_alone(operator, monkeypatch):
    expiring(operator, "week", 5 * DAY)
    expiring(operator, "day", 6 * HOUR)
    render = mail_module.render_to_string

    def missing_template(name, context):
        if context["kind"] == Kind.EXPIRES_IN_7_DAYS:
            raise FileNotFoundError(2, "No such file", name)  # an OSError, not the server's
        return render(name, context)

    monkeypatch.setattr(mail_module, "render_to_string", missing_template)
    assert send_failing().startswith("Sent 1 e-mail (0 expiring within a week, 1 expiring")
    assert SentNotification.objects.get(kind=Kind.EXPIRES_IN_7_DAYS).delivery == Delivery.FAILED


def test_a_claim_left_by_a_run_that_died_is_taken_over_after_the_lease(operator):
    expiring(operator, "week", 5 * DAY)
    [due] = due_notifications(timezone.now())
    # A run claimed it and died before the server answered (or before it recorded the answer).
    claimed = SentNotification.objects.create(
        kind=due.kind,
        tenant=due.tenant,
        token=due.token,
        recipient=due.recipient,
        period_key=due.period_key,
        delivery=Delivery.SENDING,
        claimed_at=timezone.now() - 30 * MINUTE,
        sent_at=None,
    )
    assert send().startswith("Sent 0 e-mails")  # it may still be sending
    SentNotification.objects.update(claimed_at=timezone.now() - CLAIM_LEASE - MINUTE)
    assert send().startswith("Sent 1 e-mail")
    claimed.refresh_from_db()
    assert claimed.delivery == Delivery.SENT and len(mail.outbox) == 1


def test_a_retry_is_taken_by_one_run_only(operator):
    with_old_address(operator)
    expiring(operator, "week", 5 * DAY)
    send_failing()
    with_old_address(operator, "operator@contoso.test")
    retry_due()
    [due] = due_notifications(timezone.now())
    assert deliver(due) == Delivery.SENT
    assert deliver(due) is None  # a second run, with the same list of due mails
    assert len(mail.outbox) == 1


def test_a_server_failure_during_a_retry_leaves_it_due_with_its_attempts(operator, monkeypatch):
    with_old_address(operator)
    expiring(operator, "week", 5 * DAY)
    send_failing()
    with_old_address(operator, "operator@contoso.test")
    retry_due()

    def drop(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", drop)
    assert send_failing().startswith("The mail server refused or could not be reached")
    row = SentNotification.objects.get()
    assert (row.delivery, row.attempts) == (Delivery.FAILED, 1)
    assert row.next_attempt_at <= timezone.now()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bogus://mail", "use smtp://, smtp+tls://, smtp+ssl:// or consolemail://"),
        ("smtp://user:secret@mail:99999", "Port out of range"),
    ],
)
def test_a_bad_email_url_is_refused_without_echoing_it(url, message):
    with pytest.raises(ImproperlyConfigured) as refusal:
        email_from_url(url)
    assert str(refusal.value).startswith("EMAIL_URL is not a usable e-mail URL")
    assert message in str(refusal.value) and "secret" not in str(refusal.value)


def test_email_url_chooses_the_backend():
    assert email_from_url("consolemail://") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    smtp = email_from_url("smtp+tls://user:pw@mail.example:587")
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == (
        "mail.example",
        587,
        True,
    )


URL = "/account/notifications/"


def test_the_settings_page_saves_the_choice_with_a_message(signed_in, full_admin):
    client = signed_in(full_admin)
    page = client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    for name, label in [
        ("expiry_week_ahead", "Warn me a week before one of my tokens expires"),
        ("weekly_digest", "Send me the weekly API token hygiene digest"),
    ]:
        checkbox = r'<input type="checkbox"[^>]*>'
        assert re.search(rf'<label for="id_{name}" class="check">{checkbox}{label}</label>', html)
        assert f'aria-describedby="id_{name}_helptext"' in html
        assert f'<p class="help" id="id_{name}_helptext">' in html
    response = client.post(URL, {"expiry_week_ahead": "on"}, follow=True)
    assert "Your notification settings are saved." in response.content.decode()
    choice = NotificationSettings.objects.get(user=full_admin)
    assert choice.expiry_week_ahead and not choice.weekly_digest


def test_unticking_everything_turns_both_off(signed_in, full_admin):
    signed_in(full_admin).post(URL, {"csrfmiddlewaretoken": "ignored-here"})
    choice = NotificationSettings.objects.get(user=full_admin)
    assert not choice.expiry_week_ahead and not choice.weekly_digest


def test_a_json_body_changes_nothing(signed_in, full_admin):
    response = signed_in(full_admin).post(URL, {}, content_type="application/json")
    assert response.status_code == 200
    assert not NotificationSettings.objects.exists()


def test_the_digest_choice_is_only_for_full_admins(signed_in, operator):
    client = signed_in(operator)
    assert "weekly_digest" not in client.get(URL).content.decode()
    client.post(URL, {"weekly_digest": "on"})
    choice = NotificationSettings.objects.get(user=operator)
    assert not choice.expiry_week_ahead and choice.weekly_digest  # the default, untouched


def test_the_settings_page_needs_csrf_and_sign_in(full_admin):
    client = Client(HTTP_HOST=full_admin.tenant.host, enforce_csrf_checks=True)
    assert client.get(URL).status_code == 302
    client.force_login(full_admin)
    assert client.post(URL, {}).status_code == 403
    assert not NotificationSettings.objects.exists()


def test_the_settings_page_is_in_the_account_menu(signed_in, reader):
    html = signed_in(reader).get("/about/").content.decode()
    assert f'<a href="{URL}">Notifications</a>' in html


def test_a_bad_email_url_stops_the_start_with_one_line(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-opened.sqlite3'}",
        "EMAIL_URL": "smtp://user:hunter2@mail.example:0x19",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Configuration error: EMAIL_URL is not a usable e-mail URL")
    assert result.stderr.count("\n") == 1 and "hunter2" not in result.stderr


# --- Revocation for disuse, with a week's warning (CONTRACT §16, issue 29 item 4) ----------


def revoking_unused_after(tenant, days):
    tenant.token_inactive_revoke_days = days
    tenant.save(update_fields=["token_inactive_revoke_days"])


def test_a_week_before_the_sweep_revokes_a_token_for_disuse_its_owner_is_told_once(operator):
    now = timezone.now()
    revoking_unused_after(operator.tenant, 90)
    TokenFactory(owner=operator, name="soon", last_used_at=now - 85 * DAY)
    TokenFactory(owner=operator, name="never used", created_at=now - 88 * DAY)
    TokenFactory(owner=operator, name="later", last_used_at=now - 80 * DAY)
    TokenFactory(owner=operator, name="used", last_used_at=now - DAY)
    send()
    warned = [m for m in mail.outbox if "unless it is used" in m.subject]
    assert sorted(m.subject for m in warned) == [
        "[Contoso] API token “never used” will be revoked on "
        f"{now + 2 * DAY:%Y-%m-%d} unless it is used",
        f"[Contoso] API token “soon” will be revoked on {now + 5 * DAY:%Y-%m-%d} unless it is used",
    ]
    assert {m.to[0] for m in warned} == {operator.email}
    body = next(m for m in warned if "“soon”" in m.subject).body
    assert "revokes tokens unused for 90 days" in body
    assert f"has not been used since {now - 85 * DAY:%Y-%m-%d}" in body
    mail.outbox.clear()
    send()
    assert not [m for m in mail.outbox if "unless it is used" in m.subject]


def test_a_token_used_after_its_warning_is_warned_again_before_its_next_date(operator):
    now = timezone.now()
    revoking_unused_after(operator.tenant, 30)
    token = TokenFactory(owner=operator, name="job", last_used_at=now - 25 * DAY)
    send()
    assert len([m for m in mail.outbox if "“job”" in m.subject]) == 1
    # Used meanwhile, then unused again until a week before its new date.
    token.last_used_at = now - 24 * DAY + 20 * DAY  # used 4 days ago...
    token.save(update_fields=["last_used_at"])
    mail.outbox.clear()
    send()
    assert mail.outbox == []  # ...so nothing is due for three weeks
    type(token).objects.filter(pk=token.pk).update(last_used_at=now - 26 * DAY)
    send()
    assert len([m for m in mail.outbox if "“job”" in m.subject]) == 1


def test_a_service_accounts_token_warns_its_sponsor(full_admin):
    from tenants.services import service_account_create

    now = timezone.now()
    revoking_unused_after(full_admin.tenant, 90)
    account = service_account_create(
        tenant=full_admin.tenant, name="nightly", role=Role.SECURITY_READER, sponsor=full_admin
    )
    TokenFactory(owner=account.user, name="export", last_used_at=now - 86 * DAY)
    send()
    [warned] = [m for m in mail.outbox if "unless it is used" in m.subject]
    assert warned.to == [full_admin.email]
    assert "of the service account nightly, which you sponsor" in warned.body
    assert "service-account.invalid" not in warned.body


def test_no_warning_without_the_policy_or_to_deprovisioned_owners(operator, reader):
    now = timezone.now()
    TokenFactory(owner=operator, name="old", last_used_at=now - 300 * DAY)
    send()
    assert not [m for m in mail.outbox if "unless it is used" in m.subject]
    revoking_unused_after(operator.tenant, 90)
    TokenFactory(owner=reader, name="gone", last_used_at=now - 86 * DAY)
    reader.deprovision()
    send()
    warned = [m for m in mail.outbox if "unless it is used" in m.subject]
    assert [m.subject for m in warned if "“gone”" in m.subject] == []


def test_the_digest_lists_what_the_sweep_revokes_in_the_coming_week(full_admin, operator):
    now = timezone.now()
    revoking_unused_after(full_admin.tenant, 90)
    TokenFactory(owner=operator, last_used_at=now - 85 * DAY)
    TokenFactory(owner=operator, last_used_at=now - 86 * DAY)
    TokenFactory(owner=operator, last_used_at=now - 70 * DAY)
    send()
    [digest] = [m for m in mail.outbox if "hygiene" in m.subject]
    table = "http://contoso.us.portal.localhost/settings/security-extensions/api-tokens/"
    assert "- 2 tokens to be revoked for disuse within the week (unused for 90 days)" in digest.body
    assert f"{table}?status=all&unused=83" in digest.body


def test_the_digest_has_no_disuse_line_without_the_policy(full_admin, operator):
    TokenFactory(owner=operator, expires_at=timezone.now() + 3 * DAY)
    send()
    [digest] = [m for m in mail.outbox if "hygiene" in m.subject]
    assert "for disuse" not in digest.body
