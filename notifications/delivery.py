"""Sending each e-mail once, with no transaction open while the mail server is talked to.

An e-mail goes out in three steps: its SentNotification row is claimed and committed, the
mail is handed to the server, and the row is marked sent (or failed). Two runs at once cannot
both send: the second one's claim meets the first one's row under the unique constraint and
skips the event. No lock is held while a slow server answers, so the portal's own writes go
on beside a run (on SQLite, one writer at a time, they would otherwise wait for it).

A failure of one message (a refused recipient, an address that cannot be encoded, a template
error) is recorded on its row and the run goes on; the event is tried again after a back-off
that doubles from an hour up to a day, and given up after MAX_ATTEMPTS. A server that cannot
be reached, or that drops the connection, is not the message's fault: its claim is released,
untouched, and the run stops (MailServerDown).

Delivery stays at least once: a run that dies between the server's acceptance and marking the
row sent leaves the claim, which another run takes over after CLAIM_LEASE and sends again.
"""

import logging
import smtplib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from web.logs import redact

from .mail import compose
from .models import Delivery, SentNotification

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(hours=1)
LONGEST_RETRY = timedelta(days=1)
MAX_ATTEMPTS = 8  # about three days of retries: 1 + 2 + 4 + 8 + 16 + 24 + 24 hours
ERROR_LENGTH = 200
CLOSING = 421  # SMTP: service not available, closing the connection

# What the server says about one message; it goes on serving the next (smtplib resets the
# transaction before raising), unless it answered 421.
MESSAGE_REFUSALS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)


class MailServerDown(Exception):
    """The mail server could not be reached, refused the connection or dropped it."""


def retry_delay(attempts):
    """How long after its `attempts`-th failure an e-mail is tried again."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return redact(text)[:ERROR_LENGTH]


def deliver(due, connection=None):
    """Send one e-mail for one event: Delivery.SENT, FAILED or GAVE_UP as recorded, or None
    when another run has it. Raises MailServerDown, with the event left due."""
    claim = _claim(due, timezone.now())
    if claim is None:
        return None
    try:
        message = compose(due, connection)
    except Exception as error:  # noqa: BLE001 - a template or a value of this message only
        return _failed(claim, due, error)
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - the server's failure, or this message's
        if _server_failed(error):
            _release(claim)
            raise MailServerDown(one_line(error)) from error
        return _failed(claim, due, error)
    SentNotification.objects.filter(pk=claim.pk).update(
        delivery=Delivery.SENT, sent_at=timezone.now(), next_attempt_at=None
    )
    return Delivery.SENT


def _server_failed(error):
    """Whether the server failed rather than the message: it could not be reached, dropped
    the connection, or is closing it (421, whatever command it answers)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code == CLOSING for code, _ in error.recipients.values())
    if isinstance(error, MESSAGE_REFUSALS):
        return getattr(error, "smtp_code", None) == CLOSING
    return isinstance(error, OSError)  # smtplib's other errors are OSErrors too


def _claim(due, now):
    """The event's row, committed as being sent by this run; None if another run has it."""
    event = {
        "kind": due.kind,
        "tenant": due.tenant,
        "token": due.token,
        "recipient": due.recipient,
        "period_key": due.period_key,
    }
    try:
        with transaction.atomic():
            return SentNotification.objects.create(
                **event, delivery=Delivery.SENDING, claimed_at=now, sent_at=None
            )
    except IntegrityError:
        pass
    # A retry: the row is taken over by the one run whose conditional update finds it still
    # retryable (the update re-reads the row once any other run's write is committed).
    row = SentNotification.objects.filter(**event).retryable(now).first()
    if row is None:
        return None
    taken = (
        SentNotification.objects.filter(pk=row.pk)
        .retryable(now)
        .update(delivery=Delivery.SENDING, claimed_at=now)
    )
    return row if taken else None


def _failed(claim, due, error):
    attempts = claim.attempts + 1
    now = timezone.now()
    gave_up = attempts >= MAX_ATTEMPTS
    next_attempt_at = None if gave_up else now + retry_delay(attempts)
    reason = one_line(error)
    SentNotification.objects.filter(pk=claim.pk).update(
        delivery=Delivery.GAVE_UP if gave_up else Delivery.FAILED,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        last_error=reason,
    )
    log.warning(
        "E-mail not sent: %s to user %s of tenant %s, attempt %s, %s: %s",
        due.kind,
        due.recipient.pk,
        due.tenant.slug,
        attempts,
        "given up" if gave_up else f"next at {next_attempt_at:%Y-%m-%d %H:%M} UTC",
        reason,
    )
    return Delivery.GAVE_UP if gave_up else Delivery.FAILED


def _release(claim):
    """Leave the event as this run found it: due at the next run, no attempt counted."""
    held = SentNotification.objects.filter(pk=claim.pk, delivery=Delivery.SENDING)
    if claim.attempts:
        held.update(delivery=Delivery.FAILED, claimed_at=None)
    else:
        held.delete()
