from audit.models import Via
from tenants.management.commands._base import owner_label
from tokens.services import token_resume
from web.commands import PortalCommand, shown

from ._named_token import add_token_arguments, find_live_token


class Command(PortalCommand):
    help = "Resume a suspended API token, unchanged: calls with it work again."

    def add_arguments(self, parser):
        add_token_arguments(parser, "whose token to resume")

    def handle(self, *args, email, tenant, service_account, name, **options):
        token = find_live_token(email, tenant, service_account, name)
        owner = owner_label(token.owner)
        if token_resume(token=token, by=None, via=Via.COMMAND):
            self.stdout.write(f"Resumed {shown(name)} of {owner}: calls with it work again.")
        else:
            self.stdout.write(f"{shown(name)} of {owner} was not suspended.")
