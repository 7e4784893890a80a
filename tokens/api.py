"""The v1 JSON API (CONTRACT §5). Each endpoint declares what it accepts (web.api.api_view):
by default an API token, acting as its owner, whose owner may write for a write."""

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from audit.models import Via
from tenants.models import ServiceAccount
from tenants.permissions import (
    may_narrow_token,
    may_resume_token,
    may_rotate_with_token,
    may_suspend_token,
)
from web import networks, ratelimit
from web.api import api_error, api_view, iso, paginated
from web.http import BadJson, client_ip, json_body

from . import counts, crypto
from .auth import find_token
from .forms import BadOverlap, TokenListingForm, overlap_from_seconds
from .models import Token, TokenAccess, api_token_listing, default_overlap
from .services import (
    TokenChanged,
    token_make_read_only,
    token_resume,
    token_revoke,
    token_rotate,
    token_set_networks,
    token_suspend,
)


def token_json(token):
    return {
        "id": str(token.pk),
        "name": token.name,
        "status": token.status.value,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "owner": token.owner.email,
        "service_account": token.owner.service_account_name,
        "access": token.access,
        "allowed_networks": token.allowed_networks,
        "suspended_at": iso(token.suspended_at),
    }


@api_view("GET")
def me(request):
    token, user, tenant = request.auth, request.user, request.tenant
    return JsonResponse(
        {
            "tenant": {"slug": tenant.slug, "name": tenant.name, "url": tenant.custom_url},
            "user": {"email": user.email, "role": user.role},
            "token": {
                "id": str(token.pk),
                "name": token.name,
                "access": token.access,
                "allowed_networks": token.allowed_networks,
            },
        }
    )


@api_view("GET")
def token_list(request):
    return _token_page(request)


@api_view("GET")
def service_account_tokens(request, name):
    """The live API tokens of one of the tenant's service accounts, listed as GET
    /api/v1/tokens/ lists them (its parameters too). For those who manage service accounts;
    anyone else gets 404, as for an account that does not exist."""
    account = ServiceAccount.objects.visible_to(request.user).named(name).first()
    if account is None:
        return api_error(404, "No such service account.")
    return _token_page(request, owner=account.user)


def _token_page(request, *, owner=None):
    """A page of the API tokens the caller sees, or of owner's among them, by ?status=, ?q=,
    ?sort= and ?page=."""
    form = TokenListingForm(request.GET)
    if not form.is_valid():
        return api_error(400, form.first_error())
    status, q, sort = (form.cleaned_data[name] for name in ("status", "q", "sort"))
    whose = "any" if owner is None else f"user:{owner.pk}"
    scope, name = counts.scope_of(request.user), counts.listing_name(status, owner=whose, q=q)

    def counted(queryset, size):
        return counts.CountedPaginator(queryset, size, scope=scope, name=name)

    tokens = api_token_listing(request.user, status, q=q, sort=sort, owner=owner)
    return paginated(request, tokens, token_json, counted)


@api_view("GET", "PATCH", "DELETE", narrows_itself="token_id")
def token_detail(request, token_id):
    token = (
        Token.objects.api()
        .visible_to(request.user)
        .select_related("owner__service_account", "tenant")
        .filter(pk=token_id)
    ).first()
    if token is None or (request.method == "PATCH" and not may_narrow_token(request.user, token)):
        return api_error(404, "No such token.")
    if request.method == "DELETE":
        token_revoke(token=token, by=request.user, via=Via.API, client_ip=client_ip(request))
        return HttpResponse(status=204)
    if request.method == "PATCH":
        try:
            read_only, allowed = narrowing(token, request)
        except NotNarrower as error:
            return api_error(400, str(error))
        address = client_ip(request)
        try:
            with transaction.atomic():  # both or neither
                if read_only:
                    token_make_read_only(
                        token=token, by=request.user, via=Via.API, client_ip=address
                    )
                if allowed is not None:
                    token_set_networks(
                        token=token, allowed_networks=allowed, by=request.user, via=Via.API,
                        client_ip=address,
                    )  # fmt: skip
        except TokenChanged:
            return api_error(
                409,
                "The token's allowed networks changed while this request was made; nothing "
                "was changed. Read the token again and send the narrowing again.",
            )
    return JsonResponse(token_json(token))


@api_view("POST", rotates_itself="token_id")
def token_rotation(request, token_id):
    """A new secret for a token; the old one works on for the overlap asked (default 24 h, at
    most the tenant's cap) or until the new one's first call. A token may rotate itself (a
    consumer needs no other credential), and sent with the replaced secret while the new one
    is unused, the call replaces that new secret (its answer was lost):
    tokens.services.token_rotate."""
    token = (
        Token.objects.api()
        .visible_to(request.user)
        .select_related("owner__service_account", "tenant")
        .filter(pk=token_id)
    ).first()
    if token is None or not may_rotate_with_token(request.user, request.auth, token):
        return api_error(404, "No such token.")
    try:
        overlap = rotation_overlap(request, token.tenant)
    except BadOverlap as error:
        return api_error(400, str(error))
    issued = token_rotate(
        token=token, by=request.user, overlap=overlap, via=Via.API, client_ip=client_ip(request)
    )
    if issued is None:  # revoked meanwhile
        return api_error(404, "No such token.")
    return JsonResponse(
        {
            **token_json(issued.token),
            "secret": issued.secret,
            "previous_valid_until": iso(issued.token.previous_valid_until),
            "note": issued.note,
        }
    )


def _visible_token(request, token_id):
    return (
        Token.objects.api()
        .visible_to(request.user)
        .select_related("owner__service_account", "tenant")
        .filter(pk=token_id)
        .first()
    )


@api_view("POST")
def token_suspension(request, token_id):
    """Suspend a token (CONTRACT §16): refused on every host once this answers; 200 with the
    token, suspended already or not."""
    token = _visible_token(request, token_id)
    if token is None or not may_suspend_token(request.user, token):
        return api_error(404, "No such token.")
    token_suspend(token=token, by=request.user, via=Via.API, client_ip=client_ip(request))
    token.refresh_from_db(fields=["suspended_at", "suspended_by"])
    return JsonResponse(token_json(token))


@api_view("POST")
def token_resumption(request, token_id):
    """Resume a suspended token, unchanged otherwise; 200 with the token, suspended or not.
    Its owner may lift only a suspension of their own (tenants.permissions.may_resume_token)."""
    token = _visible_token(request, token_id)
    if token is None or not may_suspend_token(request.user, token):
        return api_error(404, "No such token.")
    if token.is_suspended and not may_resume_token(request.user, token):
        return api_error(
            403,
            f"Permission denied: {token.suspender} suspended this token; only a full admin "
            "may resume it.",
        )
    token_resume(token=token, by=request.user, via=Via.API, client_ip=client_ip(request))
    token.refresh_from_db(fields=["suspended_at", "suspended_by"])
    return JsonResponse(token_json(token))


ROTATION_SHAPE = 'Send no body, or JSON like {"overlap": 3600}.'


def rotation_overlap(request, tenant):
    """The overlap a rotation's body asks for, within the tenant's cap; no body (or {}):
    DEFAULT_OVERLAP, cut to the cap."""
    if not request.body:
        return default_overlap(tenant)
    try:
        body = json_body(request)
    except BadJson as error:
        raise BadOverlap(f"{error} {ROTATION_SHAPE}") from None
    if not isinstance(body, dict):
        raise BadOverlap(ROTATION_SHAPE)
    unknown = sorted(set(body) - {"overlap"})
    if unknown:
        raise BadOverlap(f"Unknown field “{str(unknown[0])[:40]}”. {ROTATION_SHAPE}")
    if "overlap" not in body:
        return default_overlap(tenant)
    return overlap_from_seconds(body["overlap"], tenant=tenant)


NARROWING_SHAPE = (
    'Send JSON like {"access": "read_only"} or {"allowed_networks": ["10.0.0.0/8"]}, or both.'
)


class NotNarrower(ValueError):
    """A PATCH body that does not narrow the token; str() is the 400's detail."""


def narrowing(token, request):
    """(make read only, allowed networks or None) from a PATCH body that narrows token: the
    API never widens a token, so that a leaked writable token cannot lift its own limits.
    Networks may be widened by the token's owner or a full admin on the token's page."""
    try:
        body = json_body(request)
    except BadJson as error:
        raise NotNarrower(f"{error} {NARROWING_SHAPE}") from None
    if not isinstance(body, dict) or not body:
        raise NotNarrower(NARROWING_SHAPE)
    unknown = sorted(set(body) - {"access", "allowed_networks"})
    if unknown:
        raise NotNarrower(f"Unknown field “{str(unknown[0])[:40]}”. {NARROWING_SHAPE}")
    read_only, allowed = False, None
    if "access" in body:
        if body["access"] != TokenAccess.READ_ONLY:
            raise NotNarrower(
                'access: send "read_only"; no call makes a token writable (generate a new '
                "token instead)."
            )
        read_only = True
    if "allowed_networks" in body:
        values = body["allowed_networks"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise NotNarrower("allowed_networks: send a list of addresses or CIDR ranges.")
        try:
            allowed = networks.normalised(values)
        except networks.BadNetworks as error:
            raise NotNarrower(f"allowed_networks: {error}") from None
        if not networks.within(networks.stored(allowed), token.networks):
            raise NotNarrower(
                "allowed_networks: the API only narrows a token, and this list allows "
                f"addresses outside its networks ({', '.join(token.allowed_networks)}). "
                "Its owner or a full admin may widen them on the token's page."
            )
    return read_only, allowed


LEAK_REPORT_SHAPE = 'Send JSON like {"token": "<value>"}.'
LEAK_REPORT_ANSWER = {
    "detail": "Thank you. If this was a live token, it has been revoked and its owner's "
    "administrators can see the report in their audit log."
}


@api_view("POST", public=True)
def report_leak(request):
    """Public: possession of a token is the proof that lets anyone revoke it (CONTRACT §8).

    The answer is the same whether or not the token existed, so the endpoint cannot be used to
    test guesses; it is rate-limited per client address all the same.
    """
    address = client_ip(request)
    wait = ratelimit.hit(
        "leak-report",
        ratelimit.address_key(address),
        limit=settings.LEAK_REPORT_RATE,
        window=60,
    )
    if wait:
        return api_error(429, "Too many reports; try again later.", **{"Retry-After": str(wait)})
    try:
        body = json_body(request)
    except BadJson as error:
        return api_error(400, f"{error} {LEAK_REPORT_SHAPE}")
    value = body.get("token") if isinstance(body, dict) else None
    if not isinstance(value, str):
        return api_error(400, LEAK_REPORT_SHAPE)
    value = value.strip()
    token, previous = find_token(value) if crypto.is_well_formed(value) else (None, False)
    # A replaced secret past its overlap is no live token: reporting it revokes nothing.
    live = token is not None and not token.is_revoked
    if live and (not previous or token.previous_secret_valid_at(timezone.now())):
        token_revoke(
            token=token,
            via=Via.LEAK_REPORT,
            client_ip=address,
            detail="Reported as leaked through the public leak-report endpoint.",
        )
    return JsonResponse(LEAK_REPORT_ANSWER, status=202)
