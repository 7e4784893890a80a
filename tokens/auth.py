"""Who a token is (tokens.middleware): header parsing, then the credential check. What a
token's calls leave behind (refused for a deprovisioned owner, role drift) is written by
tokens.services.

The hot path makes no query when the token is in this process's cache (tokens.authcache), else
one indexed query (digest -> token, owner, tenant); no write unless a bounded-write timer is due
(tokens.usage), or the call is a rotated token's new secret's first (once per rotation).
"""

import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Q
from django.utils import timezone

from tenants.models import Tenant, User
from tenants.permissions import may_call_api, sponsorship_lapsed
from web.auth import AuthenticationFailed, MalformedCredentials, PermissionDenied

from . import authcache, crypto
from .models import Token

MAX_HEADER_LENGTH = 256
SCHEMES = ("token", "bearer")


class DeprovisionedOwner(PermissionDenied):
    """A personal token whose owner is deprovisioned: refused, and the refusal kept
    (tokens.services.token_record_denial) once it is answered."""

    def __init__(self, token):
        super().__init__("permission denied")
        self.token = token


class UnsponsoredServiceAccount(PermissionDenied):
    """A token of a service account whose sponsor was deprovisioned longer ago than the
    tenant's grace, and no full admin has named a new one (CONTRACT §15). The token itself is
    good, so this is no failed authentication to count against the address."""

    counted = False

    def __init__(self, owner):
        super().__init__(
            "Permission denied: this token's service account has had no sponsor since "
            f"{owner.sponsor_missing_since:%Y-%m-%d}; a full admin must name a new sponsor."
        )


class ReadOnlyOwner(PermissionDenied):
    """A write with a personal token whose owner may only read. The token itself is good, so
    this is no failed authentication to count against the address."""

    counted = False

    def __init__(self, owner):
        super().__init__(
            "Permission denied: this token's owner has read-only access "
            f"({owner.get_role_display()})."
        )


class ReadOnlyToken(PermissionDenied):
    """A write with a token issued read only: distinct from its owner's role (ReadOnlyOwner),
    so that the script's author knows which to change."""

    counted = False

    def __init__(self):
        super().__init__("Permission denied: the token is read only.")


class TokenSuspended(PermissionDenied):
    """A suspended token (CONTRACT §16): refused until resumed, saying by whom, so that its
    consumer knows whom to ask. The token is good, so this is no failed authentication to
    count against the address. Who suspended it is read once per cached token, on its first
    refusal: a call that is answered never reads it."""

    counted = False

    def __init__(self, token):
        super().__init__(
            f"Permission denied: this token was suspended on {token.suspended_at:%Y-%m-%d %H:%M} "
            f"UTC by {token.suspender}; ask them, or a full admin of the tenant, to resume it."
        )


class PreviousSecretReused(AuthenticationFailed):
    """The secret a rotation replaced, used after its successor was: refused as a revoked
    token would be, and the reuse kept (tokens.services.token_record_previous_reuse): whoever
    sends it holds a copy the token's consumer has moved away from. The successor is left
    alone (a full admin decides)."""

    DETAIL = "This token value was replaced by a rotation and no longer works."

    def __init__(self, token):
        super().__init__(self.DETAIL)
        self.token = token


class NotAllowedFrom(PermissionDenied):
    """A call from an address outside the token's allowed networks: refused, and the refusal
    kept (tokens.services.token_record_network_refusal). The token is good, so this is no
    failed authentication to count against the address."""

    counted = False

    def __init__(self, token, address):
        super().__init__(
            f"Permission denied: this token is not allowed from {address or 'an unknown address'}."
        )
        self.token, self.address = token, address


def parse_authorization(header):
    """Return the token value of an ``Authorization: Token <value>`` header.

    Raises AuthenticationFailed for a missing or malformed header, or a value whose shape or
    checksum is wrong: all before any database query.
    """
    if not header:
        raise MalformedCredentials(
            "Authentication credentials were not provided. Send 'Authorization: Token <token>'."
        )
    parts = header.split() if len(header) <= MAX_HEADER_LENGTH else []
    if len(parts) != 2 or parts[0].lower() not in SCHEMES:
        raise MalformedCredentials(
            "Malformed Authorization header. Send exactly 'Authorization: Token <token>'."
        )
    if not crypto.is_well_formed(parts[1]):
        raise MalformedCredentials("Invalid token.")
    return parts[1]


def _load(digest):
    if connection.vendor == "postgresql":
        return _load_prepared(digest)
    # get(), not first(): first() would add the model's ordering, and with it a sort step.
    try:
        token = Token.objects.select_related("owner", "tenant").get(
            Q(digest=digest) | Q(previous_digest=digest)
        )
    except Token.DoesNotExist:
        return None
    # The owner's tenant is the token's: cached, so the owner's checks ask no query.
    User.tenant.field.set_cached_value(token.owner, token.tenant)
    return token


def _fields(model, leave_out=()):
    return [field for field in model._meta.concrete_fields if field.name not in leave_out]


# The cache-miss query on PostgreSQL: the columns the decision and the API need (not the
# owner's password hash), written once, prepared on the server on first use, so each miss is
# one round trip that PostgreSQL neither parses nor plans again. The ORM's select_related()
# costs several times more in Python alone (bench: cold path).
_LOADED = [
    (Token, "t", _fields(Token)),
    (User, "u", _fields(User, ("password",))),
    (Tenant, "n", _fields(Tenant)),
]
_NAMES = [[field.attname for field in fields] for _, _, fields in _LOADED]
_COLUMNS = ", ".join(f'{alias}."{f.column}"' for _, alias, fields in _LOADED for f in fields)
_LOOKUP_SQL = (
    f'SELECT {_COLUMNS} FROM "{Token._meta.db_table}" t '  # noqa: S608 - names from the models
    f'JOIN "{User._meta.db_table}" u ON u."id" = t."owner_id" '
    f'JOIN "{Tenant._meta.db_table}" n ON n."id" = t."tenant_id" '
    # Either secret of a token in a rotation: one query still (two index scans, OR-ed).
    'WHERE t."digest" = %s OR t."previous_digest" = %s'
)


def _load_prepared(digest):
    row = _fetch_prepared(_LOOKUP_SQL, [digest, digest])
    if row is None:
        return None
    instances, start = [], 0
    for (model, _, _), names in zip(_LOADED, _NAMES, strict=True):
        instances.append(model.from_db(connection.alias, names, row[start : start + len(names)]))
        start += len(names)
    token, owner, tenant = instances
    Token.owner.field.set_cached_value(token, owner)
    Token.tenant.field.set_cached_value(token, tenant)
    User.tenant.field.set_cached_value(owner, tenant)
    return token


def _fetch_prepared(sql, params, retry=True):
    import psycopg

    try:
        connection.ensure_connection()
        started = time.monotonic()
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            # Behind a transaction-mode pooler the next transaction may run on a server
            # connection that never saw the statement prepared.
            cursor.execute(sql, params, prepare=settings.DATABASE_POOL_MODE == "session")
            row = cursor.fetchone()
    except (OperationalError, InterfaceError):
        # A connection PostgreSQL dropped (a restart) fails here instead of in a health
        # check round trip: reconnect once, outside a transaction only.
        if not retry or connection.in_atomic_block:
            raise
        connection.close()
        return _fetch_prepared(sql, params, retry=False)
    if connection.queries_logged:  # counted like every ORM query (tests, bench)
        connection.queries_log.append(
            {"sql": sql.replace("%s", repr(params[0])), "time": f"{time.monotonic() - started:.3f}"}
        )
    return row


def find_token(value):
    """(token, previous): the token (live or not) whose secret is value, or whose secret was
    value before its last rotation (previous); (None, False) when there is none. One indexed
    query at most: a token in a rotation is cached under each of its two secrets."""
    digest = crypto.digest(value)
    token = authcache.lookup(digest, _load)
    if token is None:
        return None, False
    return token, token.digest != digest


def _ended(token):
    """Why a replaced secret no longer works: its overlap ran out, or (during an upgrade) the
    previous release rotated the token again."""
    until = token.previous_valid_until
    if until is not None and until <= timezone.now():
        return (
            "This token value was replaced by a rotation; it stopped working at "
            f"{until:%Y-%m-%d %H:%M} UTC."
        )
    return PreviousSecretReused.DETAIL


def identify(header, *, host_tenant):
    """(the usable token of an Authorization header, whether the secret sent is the one its
    last rotation replaced), or raise AuthenticationFailed.

    Which endpoints take it is theirs to say (web.auth.Access); this only finds out whether
    the token is a live one of the host's tenant and, when it acts as its owner, whether that
    owner is still there. A replaced secret works while its rotation's overlap lasts
    (Token.previous_secret_valid_at), from the cached token: no query of its own.
    """
    token, previous = find_token(parse_authorization(header))
    # A token of another tenant on a custom host is refused as if it did not exist there.
    if token is None or (host_tenant is not None and token.tenant_id != host_tenant.id):
        raise AuthenticationFailed("Invalid token.")
    if token.is_revoked:
        raise AuthenticationFailed("This token has been revoked.")
    if previous and not token.previous_secret_valid_at(timezone.now()):
        if token.successor_used_at is not None:
            raise PreviousSecretReused(token)
        raise AuthenticationFailed(_ended(token))
    if token.is_expired:
        raise AuthenticationFailed(f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.")
    if token.is_suspended:
        raise TokenSuspended(token)
    # Only a personal token depends on its owner; a tenant's token (an agent's, a collector's,
    # an identity provider's) keeps working when the admin who created it leaves, and has its
    # kind's privileges only: the endpoints of its kind, never the creator's.
    if token.is_personal and not may_call_api(token.owner):
        if sponsorship_lapsed(token.owner):
            raise UnsponsoredServiceAccount(token.owner)
        raise DeprovisionedOwner(token)
    return token, previous
