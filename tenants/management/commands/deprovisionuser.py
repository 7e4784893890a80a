from ._base import PortalCommand, find_user


class Command(PortalCommand):
    help = "Deprovision a user: no sign-in, sessions end, tokens kept but refused."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        user = find_user(email)
        if user.is_deprovisioned:
            self.stdout.write(f"{user.email} was already deprovisioned.")
            return
        user.deprovision()
        self.stdout.write(f"Deprovisioned {user.email}; its tokens are kept but refused.")
