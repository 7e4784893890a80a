from ._base import PortalCommand, find_user, parse_role


class Command(PortalCommand):
    help = "Change a user's role; its tokens follow at their next request."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("role")

    def handle(self, *args, email, role, **options):
        role = parse_role(role)
        user = find_user(email)
        user.set_role(role)
        self.stdout.write(f"{user.email} is now {role.label}.")
