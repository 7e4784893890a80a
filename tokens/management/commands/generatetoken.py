from django.core.management.base import CommandError

from audit.models import Via
from tenants.management.commands._base import add_owner_arguments, find_owner
from tenants.permissions import may_issue_writable_tokens, token_generation_refusal
from tokens.forms import TokenGenerateForm
from tokens.services import token_issue
from web.commands import PortalCommand


class Command(PortalCommand):
    help = (
        "Generate an API token for a user, or a service account, and print only its value "
        "(for scripts)."
    )

    def add_arguments(self, parser):
        add_owner_arguments(parser, "to issue the token to")
        parser.add_argument("--name", required=True, help="token name, as on the page")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            metavar="DAYS",
            help="30, 90 or 365 as on the page (default: no expiry, where the policy allows)",
        )
        parser.add_argument(
            "--read-only",
            action="store_true",
            help="the token never writes (always so for a security reader's tokens)",
        )
        parser.add_argument(
            "--allow",
            action="extend",
            nargs="+",
            default=[],
            metavar="CIDR",
            help="an IPv4/IPv6 address or CIDR range the token may be used from (repeatable; "
            "default: anywhere)",
        )

    def handle(
        self, *args, email, tenant, service_account, name, expires_in_days, read_only, allow, **opts
    ):
        user = find_owner(email, tenant, service_account)
        if user.tenant_id is None:
            raise CommandError(f"{user.email} belongs to no tenant and cannot hold API tokens.")
        if user.is_deprovisioned:
            raise CommandError(f"{user.email} is deprovisioned; its tokens would be refused.")
        # The creation policy concerns people's own tokens; a service account's are made by
        # full admins (tenants.permissions).
        refusal = None if user.is_service_account else token_generation_refusal(user)
        if refusal:
            raise CommandError(f"{user.email}: {refusal}")
        expiry = "none" if expires_in_days is None else str(expires_in_days)
        form = TokenGenerateForm(
            {
                "name": name,
                "expiry": expiry,
                "read_only": read_only,
                "allowed_networks": "\n".join(allow),
            },
            tenant=user.tenant,
            writable=may_issue_writable_tokens(user),
        )
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise CommandError(_error(field, errors))
        issued = token_issue(
            owner=user,
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            access=form.cleaned_data["access"],
            allowed_networks=form.cleaned_data["allowed_networks"],
            via=Via.COMMAND,
        )
        self.stdout.write(issued.secret)


def _error(field, errors):
    if field == "expiry":
        return _expiry_error(errors)
    if field == "allowed_networks":
        return f"--allow: {' '.join(errors)}"
    return " ".join(errors)


def _expiry_error(errors):
    message = " ".join(errors)
    if "not one of the available choices" in message:
        return "--expires-in-days must be 30, 90 or 365 (within the tenant's maximum lifetime)."
    return message
