from django.core.management.base import CommandError

from tenants.services import user_deprovision
from web.commands import PortalCommand

from ._base import add_user_arguments, find_user


class Command(PortalCommand):
    help = "Deprovision a user: no sign-in, sessions end, tokens kept but refused."

    def add_arguments(self, parser):
        add_user_arguments(parser)

    def handle(self, *args, email, tenant, **options):
        user = find_user(email, tenant)
        if user.tenant_id is None:
            raise CommandError(f"{user.email} is a platform operator, not a tenant user.")
        if not user_deprovision(user=user):
            self.stdout.write(f"{user.email} was already deprovisioned.")
            return
        self.stdout.write(f"Deprovisioned {user.email}; its tokens are kept but refused.")
