"""Which tenant a request's host names, per CONTRACT §2."""

from django.conf import settings

from .models import Tenant

GENERIC = object()  # the host names no tenant: take it from the user or the token


def tenant_for_host(host):
    """Return GENERIC, the Tenant of a custom host, or None for an unknown tenant host."""
    host = host.lower().rstrip(".")
    domain = settings.PORTAL_DOMAIN
    if host in settings.PORTAL_GENERIC_HOSTS:
        return GENERIC
    if not host.endswith(f".{domain}"):
        return GENERIC  # an extra ALLOWED_HOSTS entry, e.g. an internal load-balancer name
    labels = host[: -len(domain) - 1].split(".")
    if len(labels) != 2:
        return None
    slug, region = labels
    return Tenant.objects.filter(slug=slug, region=region).first()
