"""The one live API token a command names by its owner's e-mail and its name, as the page
shows them (rotatetoken, suspendtoken, resumetoken)."""

from django.core.management.base import CommandError

from tenants.management.commands._base import add_user_arguments, find_user
from tokens.models import Token
from web.commands import shown


def add_token_arguments(parser):
    add_user_arguments(parser)
    parser.add_argument("--name", required=True, help="the token's name, as on the page")


def find_live_token(email, tenant, name):
    user = find_user(email, tenant)
    # Live tokens only: a revoked token stays revoked, as on the page.
    tokens = list(Token.objects.api().live().filter(owner=user, name=name)[:2])
    if not tokens:
        raise CommandError(f"{user.email} has no live API token named {shown(name)}.")
    if len(tokens) > 1:
        raise CommandError(
            f"{user.email} has several live API tokens named {shown(name)}: choose the one "
            "you mean on its page."
        )
    return tokens[0]
