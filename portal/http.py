"""What the portal's middleware adds to a request, and the client's address."""

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


class PortalRequest(HttpRequest):
    """A request after the portal's middleware (for type hints and readers).

    tenant: the tenant of the custom host, else of the signed-in user or token (None before
    sign-in on the generic host). host_tenant: the custom host's tenant only. api_token: the
    authenticated token under /api/, else None.
    """

    tenant: "tenants.models.Tenant | None"  # noqa: F821
    host_tenant: "tenants.models.Tenant | None"  # noqa: F821
    api_token: "tokens.models.Token | None"  # noqa: F821


def client_ip(request):
    """The client's address: the socket peer, or, behind TRUSTED_PROXIES reverse proxies,
    the address the outermost trusted proxy saw (from X-Forwarded-For)."""
    hops = settings.TRUSTED_PROXIES
    if not hops:
        # The WSGI server's socket peer: already a valid address, and this runs on every
        # API call, so it is not parsed again.
        return request.META.get("REMOTE_ADDR") or None
    address = request.META.get("REMOTE_ADDR", "")
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) >= hops:
        # An IPv6 zone ("fe80::1%eth0") names the proxy's interface, not the client.
        address = forwarded[-hops].split("%", 1)[0]
    try:
        return str(ip_address(address))
    except ValueError:
        return None
