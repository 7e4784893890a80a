from django.core.management.base import CommandError

from audit.models import Via
from tenants.management.commands._base import add_owner_arguments, find_owner
from tokens.forms import BadOverlap, OverlapAboveCap, overlap_from_seconds
from tokens.models import DEFAULT_OVERLAP, MAX_OVERLAP, Token, default_overlap
from tokens.services import token_rotate
from web.commands import PortalCommand, shown


class Command(PortalCommand):
    help = (
        "Rotate an API token of a user, or of a service account, and print only its new value "
        "(for scripts); the old value works on until the overlap ends or the new value is "
        "first used."
    )

    def add_arguments(self, parser):
        add_owner_arguments(parser, "whose token to rotate")
        parser.add_argument("--name", required=True, help="the token's name, as on the page")
        parser.add_argument(
            "--overlap",
            type=int,
            metavar="SECONDS",
            help="how long the old value keeps working at most: 0 (at once) to "
            f"{int(MAX_OVERLAP.total_seconds())} (7 days) or the tenant's cap; default "
            f"{int(DEFAULT_OVERLAP.total_seconds())} (24 hours), or the cap if shorter",
        )

    def handle(self, *args, email, tenant, service_account, name, overlap, **options):
        user = find_owner(email, tenant, service_account)
        account = user.service_account_name
        who = f"Service account {account}" if account else user.email
        if user.tenant_id is None:
            raise CommandError(f"{who} belongs to no tenant and holds no API tokens.")
        overlap = _overlap(overlap, user.tenant)
        if user.is_deprovisioned:
            raise CommandError(f"{who} is deprovisioned; its tokens would be refused.")
        # Live tokens only: a revoked token stays revoked, as on the page.
        tokens = list(Token.objects.api().live().filter(owner=user, name=name)[:2])
        if not tokens:
            raise CommandError(f"{who} has no live API token named {shown(name)}.")
        if len(tokens) > 1:
            raise CommandError(
                f"{who} has several live API tokens named {shown(name)}: rotate the one you "
                "mean on its page."
            )
        issued = token_rotate(token=tokens[0], by=user, overlap=overlap, via=Via.COMMAND)
        if issued is None:  # revoked meanwhile
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
