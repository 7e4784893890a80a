"""Sending each e-mail at least once, and each event at most once per successful send.

The record and the send share one transaction: the SentNotification row is inserted, the
mail handed to the SMTP server, and only then is the row committed. If the server refuses
or cannot be reached, the row rolls back and the next run tries again. A crash after the
server accepted the mail but before the commit (a window of one round trip) sends that one
mail again on the next run: at-least-once, chosen because a lost expiry warning can mean an
outage, a duplicate only a second e-mail. Two runs at once cannot both send: the second
one's insert waits on the first's unique index entry and then fails, and it skips the event.
"""

from django.db import IntegrityError, transaction

from .models import SentNotification


def deliver(due, message):
    """Send one e-mail for one event. False if another run has already sent it; the mail
    backend's exceptions (smtplib.SMTPException, OSError) propagate, with nothing recorded."""
    try:
        with transaction.atomic():
            SentNotification.objects.create(
                kind=due.kind,
                tenant=due.tenant,
                token=due.token,
                recipient=due.recipient,
                period_key=due.period_key,
            )
            message.send()
    except IntegrityError:
        return False
    return True
