from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Role, User


def validation_message(error: ValidationError):
    return " ".join(error.messages)


def find_user(email):
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise CommandError(f"No user with e-mail {email!r}.")
    return user


def parse_role(value):
    if value not in Role.values:
        raise CommandError(f"Unknown role {value!r}; use one of: {', '.join(Role.values)}.")
    return Role(value)


class PortalCommand(BaseCommand):
    """A command whose every error, argument errors included, is one line on stderr."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # argparse prints the whole usage block before an argument error; --help still has it.
        parser.print_usage = lambda file=None: None
        return parser
