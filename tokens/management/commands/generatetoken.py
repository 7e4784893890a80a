from django.core.management.base import CommandError

from tenants.management.commands._base import PortalCommand, find_user
from tokens.forms import TokenNameForm
from tokens.services import token_issue


class Command(PortalCommand):
    help = "Generate an API token for a user and print only its value (for scripts)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", required=True, help="token name, as on the page")

    def handle(self, *args, email, name, **options):
        user = find_user(email)
        if user.tenant_id is None:
            raise CommandError(f"{user.email} belongs to no tenant and cannot hold API tokens.")
        if user.is_deprovisioned:
            raise CommandError(f"{user.email} is deprovisioned; its tokens would be refused.")
        form = TokenNameForm({"name": name})
        if not form.is_valid():
            raise CommandError(" ".join(form.errors["name"]))
        issued = token_issue(owner=user, name=form.cleaned_data["name"])
        self.stdout.write(issued.secret)
