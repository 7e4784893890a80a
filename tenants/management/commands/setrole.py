from django.core.management.base import CommandError

from tenants.services import user_set_role
from web.commands import PortalCommand

from ._base import add_user_arguments, find_user, parse_role


class Command(PortalCommand):
    help = "Change a user's role; its tokens follow at their next request."

    def add_arguments(self, parser):
        add_user_arguments(parser)
        parser.add_argument("role")

    def handle(self, *args, email, tenant, role, **options):
        role = parse_role(role)
        user = find_user(email, tenant)
        if user.tenant_id is None:
            raise CommandError(f"{user.email} belongs to no tenant; roles are per tenant.")
        if not user_set_role(user=user, role=role):
            self.stdout.write(f"{user.email} already is {role.label}.")
            return
        self.stdout.write(f"{user.email} is now {role.label}.")
