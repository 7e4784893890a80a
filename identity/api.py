"""GET /api/v1/service-accounts/ (CONTRACT §15): the tenant's service accounts, for full
admins' tokens. Here, on the floor above tokens, because each account counts its live API
tokens; identity is where the tenant's identities are read (SCIM's people, and these). An
account's tokens are listed by tokens.api.service_account_tokens, as every token list is."""

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from tenants.models import ServiceAccount
from tenants.permissions import may_manage_service_accounts
from tokens.models import Token
from web.api import api_error, api_view, iso, paginated


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
    # Counted per account in a subquery on the owner index, so the page is one query however
    # many accounts and tokens: the same tokens GET .../{name}/tokens/ lists.
    live = (
        Token.objects.api()
        .live()
        .filter(owner=OuterRef("user"))
        .order_by()
        .values("owner")
        .annotate(count=Count("pk"))
        .values("count")
    )
    accounts = (
        ServiceAccount.objects.visible_to(request.user)
        .select_related("user__tenant", "sponsor")
        .annotate(live_tokens=Coalesce(Subquery(live), 0))
    )
    return paginated(request, accounts, service_account_json)
