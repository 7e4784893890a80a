import smtplib
from collections import Counter

from django.core.mail import get_connection
from django.core.management.base import CommandError
from django.utils import timezone

from tenants.models import Tenant
from web.commands import PortalCommand, shown

from ...delivery import deliver
from ...events import due_notifications
from ...mail import compose
from ...models import Kind

TOKEN_MAILS = {
    Kind.EXPIRES_IN_7_DAYS: "expiring within a week",
    Kind.EXPIRES_IN_1_DAY: "expiring within a day",
    Kind.EXPIRED: "expired",
}


def counted(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


def one_line(error):
    return " ".join(str(error).split())[:200] or type(error).__name__


class Command(PortalCommand):
    help = (
        "Send the token expiry warnings and the weekly hygiene digest that are due, each "
        "once (for cron, e.g. hourly). Prints one summary line."
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
            sent = Counter()
            for event in due:
                self.stdout.write(self._describe(event))
                sent[event.kind] += 1
            self.stdout.write(self._summary("Would send", sent))
            return
        sent = Counter()
        try:
            with get_connection() as connection:
                for event in due:
                    sent[event.kind] += deliver(event, compose(event, connection))
        except (smtplib.SMTPException, OSError) as error:
            raise CommandError(
                f"The mail server refused or could not be reached ({one_line(error)}); "
                f"{sum(sent.values())} sent before that, the rest are sent on the next run."
            ) from None
        self.stdout.write(self._summary("Sent", sent))

    @staticmethod
    def _describe(event):
        about = f"token “{event.token.name}”" if event.token else "tenant"
        return f"{event.tenant.slug}: {Kind(event.kind).label} to {event.recipient.email} ({about})"

    @staticmethod
    def _summary(verb, sent):
        parts = [f"{sent[kind]} {label}" for kind, label in TOKEN_MAILS.items()]
        parts.append(counted(sent[Kind.WEEKLY_DIGEST], "weekly digest"))
        return f"{verb} {counted(sum(sent.values()), 'e-mail')} ({', '.join(parts)})."
