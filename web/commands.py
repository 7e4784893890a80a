"""The base of every management command: one line on stderr for every error."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from .text import is_text

MESSAGE_LENGTH = 200


def validation_message(error: ValidationError):
    return " ".join(error.messages)


def shown(value, limit=60):
    """A value as an error message quotes it: cut short, so a megabyte stays one short line."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


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
