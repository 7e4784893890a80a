"""Who may call a token-authenticated endpoint: each declares it (Access), each checks it.

Under /api/ and /scim/ an authentication middleware (tokens.middleware) identifies the caller
of every request and knows no endpoint. It leaves on the request:

- `auth`: the token it identified, or None;
- `user`: the token's owner when the token acts as its owner, else AnonymousUser (no session
  is ever read there);
- `auth_refusal`: why the credentials were refused (an AuthenticationFailed), or None;
- `auth_accepted`: False until an endpoint accepts the token (web.middleware reads it);
- `authenticator`: itself, for the endpoint to tell it the outcome: `accept(request, writes=…)`
  (the token's own last conditions, and its use recorded; returns a refusal or None) and
  `refused(request, refusal)` (what a refusal leaves behind, an audit event).

Web stands below the apps, so it knows a token only as an object with a `kind`.
"""

from django.conf import settings

from . import ratelimit
from .http import client_ip


class AuthenticationFailed(Exception):
    """A refusal: the answer's status and detail sentence."""

    status = 401
    counted = True  # against the per-address limit of failed authentications
    headers = {}

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class PermissionDenied(AuthenticationFailed):
    status = 403


class NotAccepted(PermissionDenied):
    """A good token, of a kind the endpoint does not take."""

    def __init__(self):
        super().__init__("permission denied: this kind of token is not accepted here.")


class MalformedCredentials(AuthenticationFailed):
    """A header or value that could never be a token, refused before any database query
    (CONTRACT §6): not counted against the failed-authentication limit either, since counting
    is a database write when the database holds the counts (web.ratelimit)."""

    counted = False


class TooManyFailures(AuthenticationFailed):
    status = 429
    counted = False

    def __init__(self, wait):
        super().__init__("Too many failed authentications from this address; try again later.")
        self.headers = {"Retry-After": str(wait)}


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Access:
    """What an endpoint accepts, declared on its view (`view.access`).

    kinds: tokens of these kinds only (compared with request.auth.kind; opaque values here).
    None, the default: tokens that act as their owner (request.user), with the owner's rights.
    public: anyone, token or not; the credentials are not even looked at.
    narrows_itself: the name of the view argument holding a token id; a PATCH on the calling
    token's own id only takes rights away from it, so it is no write: a read-only token may
    narrow itself (review 3, finding 10).
    rotates_itself: the same for a POST that gives the calling token a new secret: it gains no
    right, so any token may rotate itself (CONTRACT §15); rotating another token is a write.
    """

    __slots__ = ("kinds", "narrows_itself", "public", "rotates_itself")

    def __init__(self, kinds=None, public=False, narrows_itself=None, rotates_itself=None):
        self.kinds, self.public, self.narrows_itself = kinds, public, narrows_itself
        self.rotates_itself = rotates_itself

    def writes(self, request, view_kwargs):
        """Whether the call alters data, as far as the token's own rights go."""
        if request.method not in WRITE_METHODS:
            return False
        if self.narrows_itself and request.method == "PATCH":
            return (view_kwargs or {}).get(self.narrows_itself) != request.auth.pk
        if self.rotates_itself and request.method == "POST":
            return (view_kwargs or {}).get(self.rotates_itself) != request.auth.pk
        return True

    def __repr__(self):
        return "Access(public=True)" if self.public else f"Access(kinds={self.kinds!r})"

    def refusal(self, request, view_kwargs=None):
        """None when the request may call the endpoint, and its token's use is then recorded;
        else the refusal to answer, past the per-address failure limit TooManyFailures.
        view_kwargs: the view's URL arguments (for narrows_itself)."""
        # Accepted once per request: a 404 raised by an accepted view is not a second call.
        if self.public or request.auth_accepted:
            return None
        refusal = request.auth_refusal
        if refusal is None:
            if self.kinds is None:
                takes = request.user.is_authenticated
            else:
                takes = request.auth.kind in self.kinds
            if takes:
                writes = self.writes(request, view_kwargs)
                refusal = request.authenticator.accept(request, writes=writes)
            else:
                refusal = NotAccepted()
        if refusal is None:
            request.auth_accepted = True
            return None
        request.authenticator.refused(request, refusal)
        return counted(refusal, client_ip(request))


def declare(access):
    """Declares what a view accepts, for a view that checks it itself (web.api.api_view
    declares its own)."""

    def decorator(view):
        view.access = access
        return view

    return decorator


def counted(refusal, address):
    """Count a refusal against its address; past the limit, TooManyFailures instead.

    Only failures are limited: a valid token from the same address keeps working, so an
    attacker sharing the address cannot lock a real client out. A value that could never
    be a token is refused without counting: counting may be a database write, and §6
    refuses it without a database hit.
    """
    if not refusal.counted:
        return refusal
    wait = ratelimit.hit(
        "api-auth-failure",
        ratelimit.address_key(address),
        limit=settings.API_AUTH_FAILURE_LIMIT,
        window=60,
    )
    return TooManyFailures(wait) if wait else refusal
