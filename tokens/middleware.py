from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from tenants.permissions import may_write
from web import ratelimit
from web.api import api_error
from web.http import client_ip

from .auth import (
    AuthenticationFailed,
    MalformedCredentials,
    authenticate_credentials,
    parse_authorization,
)
from .models import TokenKind
from .usage import record_use

# Paths under /api/ that need no token (CONTRACT §5, §8).
PUBLIC_API_PATHS = frozenset({"/api/v1/openapi.json", "/api/v1/tokens/report-leak/"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Tokens of other kinds authenticate only on their own endpoints; API tokens everywhere else.
KIND_OF_PATH = {
    "/api/v1/siem/heartbeat/": TokenKind.SIEM,
    "/api/v1/log-collectors/heartbeat/": TokenKind.LOG_COLLECTOR,
}


class ApiTokenMiddleware:
    """Authenticates every request under /api/ by its token; sessions are ignored there.

    Sets request.api_token, request.user (the owner of a personal token; nobody for a tenant's
    token, whose privileges are its kind's alone) and request.tenant. Leaves every other path
    untouched, so pages pay nothing for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith("/api/"):
            return self.get_response(request)
        request.api_token = None
        if path in PUBLIC_API_PATHS:
            return self.get_response(request)
        address, now = client_ip(request), timezone.now()
        try:
            value = parse_authorization(request.META.get("HTTP_AUTHORIZATION", ""))
            kind = KIND_OF_PATH.get(path, TokenKind.API)
            token = authenticate_credentials(
                value, host_tenant=request.host_tenant, kinds=(kind,), client_ip=address, now=now
            )
        except AuthenticationFailed as failure:
            return self.refuse(failure, address)
        if token.is_personal:
            owner = token.owner
            if request.method in WRITE_METHODS and not may_write(owner):
                return api_error(
                    403,
                    "Permission denied: this token's owner has read-only access "
                    f"({owner.get_role_display()}).",
                )
            request.user = owner
        else:
            # A tenant's token (an agent's heartbeat: its own liveness, not a change to tenant
            # data) acts as nobody, so no view can lend it its creator's privileges.
            request.user = AnonymousUser()
        request.api_token = token
        request.tenant = token.tenant
        record_use(token, address, now=now)
        return self.get_response(request)

    @staticmethod
    def refuse(failure, address):
        """Answer a failed authentication; past the per-address limit, with 429.

        Only failures are limited: a valid token from the same address keeps working, so an
        attacker sharing the address cannot lock a real client out. A value that could never
        be a token is refused without counting: counting may be a database write, and §6
        refuses it without a database hit.
        """
        if isinstance(failure, MalformedCredentials):
            return api_error(failure.status, failure.detail)
        wait = ratelimit.hit(
            "api-auth-failure",
            address or "unknown",
            limit=settings.API_AUTH_FAILURE_LIMIT,
            window=60,
        )
        if wait:
            return api_error(
                429,
                "Too many failed authentications from this address; try again later.",
                **{"Retry-After": str(wait)},
            )
        return api_error(failure.status, failure.detail)
