from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from audit.models import Via
from tenants.models import Tenant
from tenants.services import service_account_create
from web.commands import PortalCommand, shown, validation_message

from ._base import find_user, parse_role


class Command(PortalCommand):
    help = "Create a service account of a tenant: a role and API tokens, never a sign-in."

    def add_arguments(self, parser):
        parser.add_argument("name", help="lowercase letters, digits and hyphens")
        parser.add_argument("--tenant", required=True, metavar="SLUG", help="tenant slug")
        parser.add_argument(
            "--role", required=True, help="full_admin, security_operator or security_reader"
        )
        parser.add_argument(
            "--sponsor",
            required=True,
            metavar="EMAIL",
            help="the active person of the tenant answerable for the account",
        )
        parser.add_argument("--description", default="", help="what the account is for")

    def handle(self, *args, name, tenant, role, sponsor, description, **options):
        role = parse_role(role)
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant with slug {shown(tenant)}.")
        sponsor_user = find_user(sponsor, tenant)
        try:
            account = service_account_create(
                tenant=tenant_obj,
                name=name,
                role=role,
                sponsor=sponsor_user,
                description=description,
                via=Via.COMMAND,
            )
        except ValidationError as error:
            raise CommandError(
                f"Service account {shown(name)} refused: {validation_message(error)}"
            ) from None
        self.stdout.write(
            f"Created service account {account.name} ({role.label}) in tenant "
            f"{tenant_obj.slug}, sponsored by {sponsor_user.email}."
        )
