import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from web.commands import PortalCommand, validation_message

from ._base import add_user_arguments, find_user

TRIES = 3


class Command(PortalCommand):
    """Django's changepassword, for e-mails that are unique per tenant only (Django's would
    stop on an e-mail of several tenants). The password is only ever typed at the prompt."""

    help = "Change a user's password (break-glass when single sign-on is unreachable)."

    def add_arguments(self, parser):
        add_user_arguments(parser)

    def handle(self, *args, email, tenant, **options):
        user = find_user(email, tenant)
        if user.is_service_account:
            raise CommandError(f"{user.email} is a service account, which never signs in.")
        where = f" in {user.tenant.slug}" if user.tenant else ""
        self.stdout.write(f"Changing the password of {user.email}{where}.")
        for _ in range(TRIES):
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The passwords did not match.")
                continue
            try:
                validate_password(password, user)
            except ValidationError as error:
                self.stderr.write(f"Password refused: {validation_message(error)}")
                continue
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"Password changed for {user.email}{where}.")
            return
        raise CommandError(f"Password not changed after {TRIES} tries.")
