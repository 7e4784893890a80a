from audit.models import Via
from tokens.services import token_resume
from web.commands import PortalCommand, shown

from ._named_token import add_token_arguments, find_live_token


class Command(PortalCommand):
    help = "Resume a suspended API token, unchanged: calls with it work again."

    def add_arguments(self, parser):
        add_token_arguments(parser)

    def handle(self, *args, email, tenant, name, **options):
        token = find_live_token(email, tenant, name)
        owner = token.owner.email
        if token_resume(token=token, by=None, via=Via.COMMAND):
            self.stdout.write(f"Resumed {shown(name)} of {owner}: calls with it work again.")
        else:
            self.stdout.write(f"{shown(name)} of {owner} was not suspended.")
