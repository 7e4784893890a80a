from django.core.management.base import CommandError

from audit.models import Via
from tenants.management.commands._base import owner_label
from tokens.forms import BadOverlap, OverlapAboveCap, overlap_from_seconds
from tokens.models import DEFAULT_OVERLAP, MAX_OVERLAP, default_overlap
from tokens.services import token_rotate
from web.commands import PortalCommand, shown

from ._named_token import add_token_arguments, find_live_token


class Command(PortalCommand):
    help = (
        "Rotate an API token of a user, or of a service account, and print only its new value "
        "(for scripts); the old value works on until the overlap ends or the new value is "
        "first used."
    )

    def add_arguments(self, parser):
        add_token_arguments(parser, "whose token to rotate")
        parser.add_argument(
            "--overlap",
            type=int,
            metavar="SECONDS",
            help="how long the old value keeps working at most: 0 (at once) to "
            f"{int(MAX_OVERLAP.total_seconds())} (7 days) or the tenant's cap; default "
            f"{int(DEFAULT_OVERLAP.total_seconds())} (24 hours), or the cap if shorter",
        )

    def handle(self, *args, email, tenant, service_account, name, overlap, **options):
        token = find_live_token(email, tenant, service_account, name)
        user = token.owner
        overlap = _overlap(overlap, token.tenant)
        if user.is_deprovisioned:
            who = owner_label(user, starts_sentence=True)
            raise CommandError(f"{who} is deprovisioned; its tokens would be refused.")
        issued = token_rotate(token=token, by=user, overlap=overlap, via=Via.COMMAND)
        if issued is None:  # revoked meanwhile
            who = owner_label(user, starts_sentence=True)
            raise CommandError(f"{who} has no live API token named {shown(name)}.")
        self.stdout.write(issued.secret)


def _overlap(seconds, tenant):
    if seconds is None:
        return default_overlap(tenant)
    try:
        return overlap_from_seconds(seconds, tenant=tenant)
    except OverlapAboveCap as error:
        raise CommandError(f"--{error}") from None
    except BadOverlap:
        raise CommandError(
            "--overlap must be a whole number of seconds from 0 (at once) to "
            f"{int(MAX_OVERLAP.total_seconds())} (7 days)."
        ) from None
