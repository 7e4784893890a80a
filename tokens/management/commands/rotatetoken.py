from django.core.management.base import CommandError

from audit.models import Via
from tenants.management.commands._base import add_user_arguments, find_user
from tokens.forms import BadOverlap, overlap_from_seconds
from tokens.models import DEFAULT_OVERLAP, MAX_OVERLAP, Token
from tokens.services import token_rotate
from web.commands import PortalCommand, shown


class Command(PortalCommand):
    help = (
        "Rotate a user's API token and print only its new value (for scripts); the old value "
        "works on until the overlap ends or the new value is first used."
    )

    def add_arguments(self, parser):
        add_user_arguments(parser)
        parser.add_argument("--name", required=True, help="the token's name, as on the page")
        parser.add_argument(
            "--overlap",
            type=int,
            metavar="SECONDS",
            default=int(DEFAULT_OVERLAP.total_seconds()),
            help="how long the old value keeps working at most: 0 (at once) to "
            f"{int(MAX_OVERLAP.total_seconds())} (7 days); default "
            f"{int(DEFAULT_OVERLAP.total_seconds())} (24 hours)",
        )

    def handle(self, *args, email, tenant, name, overlap, **options):
        try:
            overlap = overlap_from_seconds(overlap)
        except BadOverlap:
            raise CommandError(
                "--overlap must be a whole number of seconds from 0 (at once) to "
                f"{int(MAX_OVERLAP.total_seconds())} (7 days)."
            ) from None
        user = find_user(email, tenant)
        if user.is_deprovisioned:
            raise CommandError(f"{user.email} is deprovisioned; its tokens would be refused.")
        # Live tokens only: a revoked token stays revoked, as on the page.
        tokens = list(Token.objects.api().live().filter(owner=user, name=name)[:2])
        if not tokens:
            raise CommandError(f"{user.email} has no live API token named {shown(name)}.")
        if len(tokens) > 1:
            raise CommandError(
                f"{user.email} has several live API tokens named {shown(name)}: rotate the "
                "one you mean on its page."
            )
        issued = token_rotate(token=tokens[0], by=user, overlap=overlap, via=Via.COMMAND)
        if issued is None:  # revoked meanwhile
            raise CommandError(f"{user.email} has no live API token named {shown(name)}.")
        self.stdout.write(issued.secret)
