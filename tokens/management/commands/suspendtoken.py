from audit.models import Via
from tenants.management.commands._base import owner_label
from tokens.services import token_suspend
from web.commands import PortalCommand, shown

from ._named_token import add_token_arguments, find_live_token


class Command(PortalCommand):
    help = (
        "Suspend a user's API token: every call with it is refused, saying so, until "
        "resumetoken resumes it unchanged."
    )

    def add_arguments(self, parser):
        add_token_arguments(parser, "whose token to suspend")

    def handle(self, *args, email, tenant, service_account, name, **options):
        token = find_live_token(email, tenant, service_account, name)
        owner = owner_label(token.owner)
        if token_suspend(token=token, by=None, via=Via.COMMAND):
            self.stdout.write(f"Suspended {shown(name)} of {owner}: calls with it are refused.")
        else:
            self.stdout.write(f"{shown(name)} of {owner} was already suspended.")
