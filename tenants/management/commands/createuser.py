import getpass
import secrets
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from tenants.models import Tenant, User, validate_user_email
from web.commands import PortalCommand, shown, validation_message

from ._base import parse_role


class Command(PortalCommand):
    help = "Create a user of a tenant with a role."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument(
            "--role", required=True, help="full_admin, security_operator or security_reader"
        )
        parser.add_argument(
            "--password",
            help="without it: prompts on a terminal, otherwise generates and prints one",
        )

    def handle(self, *args, email, tenant, role, password, **options):
        email = email.strip().lower()
        try:
            validate_user_email(email)
        except ValidationError as error:
            raise CommandError(
                f"E-mail {shown(email)} refused: {validation_message(error)}"
            ) from None
        role = parse_role(role)
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant with slug {shown(tenant)}.")
        # Per tenant: the same address may belong to users of other tenants.
        if User.objects.with_email(email).filter(tenant=tenant_obj).exists():
            raise CommandError(f"A user with e-mail {email!r} already exists in {tenant_obj.slug}.")
        user = User(email=email, tenant=tenant_obj, role=role)
        generated = password is None and not sys.stdin.isatty()
        if password is None:
            password = secrets.token_urlsafe(15) if generated else self._prompt()
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(f"Password refused: {validation_message(error)}") from None
        with transaction.atomic():
            user.set_password(password)
            user.save()
        self.stdout.write(f"Created {role.label} {email} in tenant {tenant_obj.slug}.")
        if generated:
            self.stdout.write(f"Password: {password}")

    def _prompt(self):
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The passwords did not match.")
        return password
