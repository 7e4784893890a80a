"""The one live API token a command names by its owner (an e-mail, or --service-account NAME
with --tenant) and its name, as the page shows them (rotatetoken, suspendtoken, resumetoken)."""

from django.core.management.base import CommandError

from tenants.management.commands._base import add_owner_arguments, find_owner, owner_label
from tokens.models import Token
from web.commands import shown


def add_token_arguments(parser, what_for):
    add_owner_arguments(parser, what_for)
    parser.add_argument("--name", required=True, help="the token's name, as on the page")


def find_live_token(email, tenant, service_account, name):
    user = find_owner(email, tenant, service_account)
    who = owner_label(user, starts_sentence=True)
    # Live tokens only: a revoked token stays revoked, as on the page.
    tokens = list(
        Token.objects.api()
        .live()
        .filter(owner=user, name=name)
        .select_related("owner", "tenant")[:2]
    )
    if not tokens:
        raise CommandError(f"{who} has no live API token named {shown(name)}.")
    if len(tokens) > 1:
        raise CommandError(
            f"{who} has several live API tokens named {shown(name)}: choose the one you mean "
            "on its page."
        )
    return tokens[0]
