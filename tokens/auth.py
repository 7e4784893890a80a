"""Token authentication for the API: header parsing, then the credential check.

The hot path is one indexed query (digest -> token, owner, tenant) and no write unless the
token's recorded last use is older than TOKEN_LAST_USED_RESOLUTION.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import crypto
from .models import Token, TokenKind

MAX_HEADER_LENGTH = 256
SCHEMES = ("token", "bearer")


class AuthenticationFailed(Exception):
    status = 401

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class PermissionDenied(AuthenticationFailed):
    status = 403


def parse_authorization(header):
    """Return the token value of an ``Authorization: Token <value>`` header.

    Raises AuthenticationFailed for a missing or malformed header, or a value whose shape or
    checksum is wrong: all before any database query.
    """
    if not header:
        raise AuthenticationFailed(
            "Authentication credentials were not provided. Send 'Authorization: Token <token>'."
        )
    parts = header.split() if len(header) <= MAX_HEADER_LENGTH else []
    if len(parts) != 2 or parts[0].lower() not in SCHEMES:
        raise AuthenticationFailed(
            "Malformed Authorization header. Send exactly 'Authorization: Token <token>'."
        )
    if not crypto.is_well_formed(parts[1]):
        raise AuthenticationFailed("Invalid token.")
    return parts[1]


def authenticate_credentials(value, *, host_tenant, kinds=(TokenKind.API,)):
    """Return the live token for value, or raise AuthenticationFailed / PermissionDenied."""
    token = (
        Token.objects.select_related("owner", "tenant").filter(digest=crypto.digest(value)).first()
    )
    # A token of another tenant on a custom host is refused as if it did not exist there.
    if token is None or (host_tenant is not None and token.tenant_id != host_tenant.id):
        raise AuthenticationFailed("Invalid token.")
    if token.is_revoked:
        raise AuthenticationFailed("This token has been revoked.")
    if not token.owner.is_active:
        raise PermissionDenied("permission denied")
    if token.kind not in kinds:
        raise PermissionDenied("permission denied: this kind of token is not accepted here.")
    return token


def record_use(token, now=None):
    """Record last use at most once per resolution; never moves last use backwards."""
    now = now or timezone.now()
    resolution = timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION)
    if token.last_used_at is not None and token.last_used_at > now - resolution:
        return False
    # Conditional, so concurrent requests on several workers write once between them.
    updated = (
        Token.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - resolution))
        .update(last_used_at=now)
    )
    if updated:
        token.last_used_at = now
    return bool(updated)
