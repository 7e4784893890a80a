from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from tenants.permissions import may_write, may_write_with_token
from web.api import TOKEN_PREFIXES
from web.auth import AuthenticationFailed
from web.http import client_ip

from .auth import (
    DeprovisionedOwner,
    NotAllowedFrom,
    PreviousSecretReused,
    ReadOnlyOwner,
    ReadOnlyToken,
    identify,
)
from .services import (
    token_audit_role_drift,
    token_record_denial,
    token_record_network_refusal,
    token_record_previous_reuse,
    token_record_successor_use,
)
from .usage import record_refusal, record_use


class ApiTokenMiddleware:
    """Identifies the caller of every request under /api/ and /scim/ by its token; no session
    is read there. Knows no endpoint: each declares what it accepts and checks it (web.auth).

    Sets request.auth (the token), request.auth_by_previous_secret (whether the secret sent is
    the one the token's last rotation replaced, still in its overlap), request.user (the owner
    of a personal token; nobody for a tenant's token, whose privileges are its kind's alone),
    request.tenant, or else request.auth_refusal (why not); and request.authenticator, itself,
    which the endpoint tells whether it accepts the token. Leaves every other path untouched,
    so pages pay nothing for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(TOKEN_PREFIXES):
            return self.get_response(request)
        request.authenticator, request.auth_accepted = self, False
        request.auth_by_previous_secret = False
        try:
            token, request.auth_by_previous_secret = identify(
                request.META.get("HTTP_AUTHORIZATION", ""), host_tenant=request.host_tenant
            )
        except AuthenticationFailed as refusal:
            request.auth, request.auth_refusal, request.user = None, refusal, AnonymousUser()
        else:
            request.auth, request.auth_refusal, request.tenant = token, None, token.tenant
            # A tenant's token (an agent's heartbeat, a provider's SCIM call) acts as nobody, so
            # no view can lend it its creator's privileges.
            request.user = token.owner if token.is_personal else AnonymousUser()
        return self.get_response(request)

    @staticmethod
    def accept(request, *, writes):
        """The endpoint takes tokens of request.auth's kind: None once the token's own last
        condition holds and its use is recorded, else the refusal. writes: whether the call
        alters data (the endpoint's Access says).

        A token is refused from outside its allowed networks (every kind). A personal token
        acts with its owner's rights at each call, so it writes (whatever the endpoint) only
        while its owner may, and only if it was issued writable. The first call after the
        owner's role changed is audited, written or refused.
        """
        token, address = request.auth, client_ip(request)
        # Whatever the kind: a token from outside its networks is not even a use.
        if not token.allowed_from(address):
            return NotAllowedFrom(token, address)
        if token.is_personal:
            owner = request.user  # the token's owner, as it acts
            if token.role_drifted and token.drift_audited_role != owner.role:
                token_audit_role_drift(token, address)
            if writes and not may_write_with_token(owner, token):
                # The owner's role first: a reader's token is read only for both reasons.
                return ReadOnlyOwner(owner) if not may_write(owner) else ReadOnlyToken()
        if token.awaits_successor_use and not request.auth_by_previous_secret:
            token_record_successor_use(token)
        record_use(token, address)
        return None

    @staticmethod
    def refused(request, refusal):
        """A refusal is being answered: a deprovisioned owner's token, or a token used from
        outside its networks, leaves a trace; every refusal of a recognised token is counted
        on its usage chart."""
        token = getattr(refusal, "token", None) or request.auth
        if token is not None:
            record_refusal(token)
        if isinstance(refusal, DeprovisionedOwner):
            token_record_denial(refusal.token, client_ip(request), timezone.now())
        elif isinstance(refusal, NotAllowedFrom):
            token_record_network_refusal(refusal.token, refusal.address, timezone.now())
        elif isinstance(refusal, PreviousSecretReused):
            token_record_previous_reuse(refusal.token, client_ip(request), timezone.now())
