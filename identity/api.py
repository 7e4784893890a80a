"""GET /api/v1/service-accounts/ (CONTRACT §15): the tenant's service accounts, for full
admins' tokens. Here, on the floor above tokens, because each account counts its live API
tokens, as the service accounts pages beside it do (identity.service_accounts), whose count it
shares. An account's tokens are listed by tokens.api.service_account_tokens, as every token
list is."""

from tenants.models import ServiceAccount
from tenants.permissions import may_manage_service_accounts
from web.api import api_error, api_view, iso, paginated

from .service_accounts import with_live_tokens


def service_account_json(account):
    user = account.user
    return {
        "name": account.name,
        "description": account.description,
        "role": user.role,
        "sponsor": account.sponsor.email,
        "sponsor_missing_since": iso(user.sponsor_missing_since),
        "tokens_refused_from": iso(user.sponsor_grace_ends_at()),
        "created_at": iso(account.created_at),
        "live_tokens": account.live_tokens,
    }


@api_view("GET")
def service_account_list(request):
    if not may_manage_service_accounts(request.user):
        # As /api/v1/audit/: a list for full admins' tokens only (CONTRACT §8).
        return api_error(403, "permission denied: service accounts are for full admins' tokens.")
    accounts = ServiceAccount.objects.visible_to(request.user).select_related(
        "user__tenant", "sponsor"
    )
    return paginated(request, with_live_tokens(accounts), service_account_json)
