"""Part 3: does the API tokens page (and the API listing) stay flat as a tenant grows?

All tenant sizes live in one database and are timed in the same rounds, so the 100,000-token
tenant is compared with the 100-token one under the same conditions, and with the other
tenants' rows in the same tables, as in production.
"""

from django.conf import settings
from django.test import Client

from tenants.models import User
from tokens.models import DEFAULT_SORT, SORT_VALUES

from .driver import WsgiClient, expect_ok
from .timing import count_queries, interleaved_rounds, median

PAGE = "/settings/security-extensions/api-tokens/"
API = "/api/v1/tokens/"
# What each tenant's list is asked for: each status, then the search (issue 18) and each sort.
# The searches: a fragment of one token's name (the full admin's own, one match whatever the
# tenant's size: the whole tenant is searched for it), and part of an owner's e-mail (a
# sixth of the tokens). Every query string is short for a label in the report.
LISTS = {
    **{status: f"status={status}" for status in ("all", "active", "inactive", "generated")},
    "q=admin client": "status=all&q=admin+client",
    "q=member1@": "status=all&q=member1%40",
    **{f"sort={key}": f"status=all&sort={key}" for key in SORT_VALUES if key != DEFAULT_SORT},
}
KINDS = {"page": PAGE, "api": API}


def session_cookie(tenant):
    """Sign the full admin in the way a browser ends up: a session cookie."""
    client = Client(HTTP_HOST=tenant.host)
    client.force_login(User.objects.get(pk=tenant.admin_id))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return f"{cookie.key}={cookie.value}"


def page_scale(tenants, *, rounds):
    client = WsgiClient()
    requests = {}
    for tenant in tenants:
        cookie = session_cookie(tenant)
        for label, query in LISTS.items():
            requests[("page", label, tenant.size)] = client.prepare(
                f"{PAGE}?{query}", host=tenant.host, cookie=cookie
            )
            requests[("api", label, tenant.size)] = client.prepare(
                f"{API}?{query}", host=tenant.host, authorization=f"Token {tenant.token}"
            )
    # Two whole passes before counting: the first use of each tenant's token (Generated ->
    # Active) bumps the count-cache version, so one pass per key would leave the tenants
    # warmed before the last first use counting again, and compare cold with warm.
    for _ in range(2):
        for key, request in requests.items():
            expect_ok(request, f"{key}")
    counted = {key: count_queries(request, 1)[0] for key, request in requests.items()}
    wall, _cpu = interleaved_rounds(requests, rounds=rounds, per_round=1)
    ms = {key: median(samples) / 1000 for key, samples in wall.items()}

    smallest = min(tenant.size for tenant in tenants)
    rows = []
    for kind, path in KINDS.items():
        for label, query in LISTS.items():
            for tenant in tenants:
                key = (kind, label, tenant.size)
                rows.append(
                    {
                        "kind": kind,
                        "path": f"{path}?{query}",
                        "list": label,
                        "tokens": tenant.size,
                        "ms": ms[key],
                        "ratio_to_smallest": ms[key] / ms[(kind, label, smallest)],
                        "queries": counted[key],
                    }
                )
    return {"rounds": rounds, "sizes": [tenant.size for tenant in tenants], "rows": rows}
