from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Role, User

MESSAGE_LENGTH = 200


def validation_message(error: ValidationError):
    return " ".join(error.messages)


def shown(value, limit=60):
    """A value as an error message quotes it: cut short, so a megabyte stays one short line."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def find_user(email):
    email = email.strip()
    # No stored e-mail is longer than its column, and SQLite refuses a LIKE pattern of a
    # megabyte outright: a longer value is no user, without asking the database.
    too_long = len(email) > User._meta.get_field("email").max_length
    user = None if too_long else User.objects.filter(email__iexact=email).first()
    if user is None:
        raise CommandError(f"No user with e-mail {shown(email)}.")
    return user


def parse_role(value):
    if value not in Role.values:
        raise CommandError(f"Unknown role {shown(value)}; use one of: {', '.join(Role.values)}.")
    return Role(value)


def is_text(value):
    """Neither NUL (PostgreSQL text cannot hold it) nor bytes that were not UTF-8 (Python
    hands those over as surrogates, which no database driver encodes)."""
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)


class PortalCommand(BaseCommand):
    """A command whose every error, argument errors included, is one line on stderr."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # argparse prints the whole usage block before an argument error; --help still has it.
        parser.print_usage = lambda file=None: None
        # argparse quotes a bad value whole ("invalid int value: '...'"): keep the line short.
        error = parser.error
        parser.error = lambda message: error(
            message if len(message) <= MESSAGE_LENGTH else message[:MESSAGE_LENGTH] + "…"
        )
        return parser

    def execute(self, *args, **options):
        if not all(
            is_text(value) for value in (*args, *options.values()) if isinstance(value, str)
        ):
            raise CommandError("Arguments must be UTF-8 text without NUL characters.")
        return super().execute(*args, **options)
