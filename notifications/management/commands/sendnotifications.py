from collections import Counter

from django.core.mail import get_connection
from django.core.management.base import CommandError
from django.utils import timezone

from tenants.models import Tenant
from web.commands import PortalCommand, shown

from ...delivery import MAX_ATTEMPTS, MailServerDown, deliver, one_line
from ...events import due_notifications
from ...models import Delivery, Kind

TOKEN_MAILS = {
    Kind.EXPIRES_IN_7_DAYS: "expiring within a week",
    Kind.EXPIRES_IN_1_DAY: "expiring within a day",
    Kind.EXPIRED: "expired",
}


def counted(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


class Command(PortalCommand):
    help = (
        "Send the token expiry warnings and the weekly hygiene digest that are due, each "
        "once (for cron, e.g. hourly). Prints one summary line; exits non-zero if an e-mail "
        "failed (it is tried again later) or the mail server could not be reached."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be sent, send nothing"
        )
        parser.add_argument("--tenant", metavar="SLUG", help="only this tenant's e-mails")

    def handle(self, *args, dry_run, tenant, **options):
        tenants = Tenant.objects.all()
        if tenant is not None:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with slug {shown(tenant)}.")
        due = due_notifications(timezone.now(), tenants)
        if dry_run:
            self._dry_run(due)
            return
        sent, failed, deferred = Counter(), Counter(), 0
        try:
            # Opened first, so that a server that is down stops the run before any claim.
            with get_connection() as connection:
                for event in due:
                    if event.deferred_until is not None:
                        deferred += 1
                        continue
                    outcome = self._deliver(event, connection)
                    if outcome == Delivery.SENT:
                        sent[event.kind] += 1
                    elif outcome is not None:
                        failed[outcome] += 1
        except (MailServerDown, OSError) as error:  # smtplib's errors are OSErrors too
            raise CommandError(
                f"The mail server refused or could not be reached ({one_line(error)}); "
                f"{sum(sent.values())} sent and {sum(failed.values())} failed before that, "
                "the rest are sent on the next run."
            ) from None
        summary = self._summary("Sent", sent) + self._failures(failed, deferred)
        if failed:
            raise CommandError(summary)
        self.stdout.write(summary)

    @staticmethod
    def _deliver(event, connection):
        try:
            return deliver(event, connection)
        except MailServerDown:
            # Servers close a connection after so many messages: a new one, once; if that
            # fails too, the server is down and the run stops.
            connection.close()
            connection.open()
            return deliver(event, connection)

    def _dry_run(self, due):
        sent, deferred = Counter(), 0
        for event in due:
            line = self._describe(event)
            if event.deferred_until is None:
                sent[event.kind] += 1
            else:
                line += (
                    f" (failed before; deferred until {event.deferred_until:%Y-%m-%d %H:%M} UTC)"
                )
                deferred += 1
            self.stdout.write(line)
        self.stdout.write(f"{self._summary('Would send', sent)}; {deferred} deferred.")

    @staticmethod
    def _describe(event):
        if event.token:
            about = f"token “{event.token.name}”"
        else:
            about = "account" if event.kind == Kind.SIGN_IN_LOCKED else "tenant"
        return f"{event.tenant.slug}: {Kind(event.kind).label} to {event.recipient.email} ({about})"

    @staticmethod
    def _summary(verb, sent):
        parts = [f"{sent[kind]} {label}" for kind, label in TOKEN_MAILS.items()]
        parts.append(counted(sent[Kind.WEEKLY_DIGEST], "weekly digest"))
        if sent[Kind.SIGN_IN_LOCKED]:
            parts.append(counted(sent[Kind.SIGN_IN_LOCKED], "sign-in lock notice"))
        return f"{verb} {counted(sum(sent.values()), 'e-mail')} ({', '.join(parts)})"

    @staticmethod
    def _failures(failed, deferred):
        given_up = failed[Delivery.GAVE_UP]
        gave_up = f" ({given_up} given up after {MAX_ATTEMPTS} attempts)" if given_up else ""
        return f"; {sum(failed.values())} failed{gave_up}, {deferred} deferred."
