from django.core.management.base import CommandError

from identity.models import identity_settings_of
from identity.services import password_sign_in_set
from tenants.models import Tenant
from web.commands import PortalCommand


class Command(PortalCommand):
    help = (
        "Turn password sign-in on or off for a tenant (break-glass when its identity "
        "provider is unreachable; set a password with `changepassword EMAIL`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="tenant slug")
        parser.add_argument("state", choices=["on", "off"])

    def handle(self, *args, slug, state, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {slug!r}.")
        allowed = state == "on"
        if not allowed and not identity_settings_of(tenant).sso_ready:
            raise CommandError(
                f"{tenant.slug} has no complete single sign-on: turning passwords off would "
                "lock everyone out."
            )
        if not password_sign_in_set(tenant=tenant, allowed=allowed):
            self.stdout.write(f"Password sign-in already is {state} for {tenant.slug}.")
            return
        self.stdout.write(f"Password sign-in is now {state} for {tenant.slug}.")
