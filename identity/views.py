"""Single sign-on pages and Settings › Identity."""

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import Action, AuditEvent, Via
from audit.services import audit_record
from tenants.models import User
from tenants.permissions import may_manage_identity, may_sign_in
from tokens.forms import TokenNameForm
from tokens.models import Token, TokenKind
from tokens.services import token_issue, token_revoke
from web import ratelimit
from web.access import allowed
from web.http import client_ip

from . import oidc, services
from .forms import RoleMappingForm, SsoSettingsForm
from .models import identity_settings_of

# The session key of the page to return to after single sign-on.
NEXT_KEY = "identity_sso_next"
# Django keeps the backend in the session to load the user on later requests; single
# sign-on users are ordinary portal users, loaded like password ones.
SESSION_BACKEND = "tenants.backends.TenantEmailBackend"
SSO_START_WINDOW = 60  # seconds; SSO_START_RATE starts per window and client address


def sso_of_host(request):
    """The host tenant's ready single sign-on settings, else 404: on the generic host there
    is no tenant to sign in to, and a tenant without single sign-on has no such page."""
    identity = identity_settings_of(request.host_tenant)
    if identity is None or not identity.sso_ready:
        raise Http404
    return identity


def callback_url(tenant):
    return tenant.custom_url.rstrip("/") + reverse("identity:sso-callback")


@login_not_required
@require_GET
@never_cache
def sso_begin(request):
    identity = sso_of_host(request)
    # Anyone may start single sign-on, and a start may cost a call to the provider: limited
    # per client address so that nobody can keep workers busy with it.
    wait = ratelimit.hit(
        "sso-start",
        ratelimit.address_key(client_ip(request)),
        limit=settings.SSO_START_RATE,
        window=SSO_START_WINDOW,
    )
    if wait:
        response = render(request, "identity/sso_throttled.html", {"seconds": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        request.session[NEXT_KEY] = next_url
    try:
        return oidc.begin(request, identity, callback_url(identity.tenant))
    except oidc.SignInRefused as refusal:
        return _refuse(request, identity, str(refusal), status=refusal.status)


@login_not_required
@require_GET
@never_cache
def sso_callback(request):
    identity = sso_of_host(request)
    try:
        email = oidc.complete(request, identity)
    except oidc.SignInRefused as refusal:
        return _refuse(request, identity, str(refusal), status=refusal.status)
    # Within this tenant only: an account of another tenant with the same e-mail is not a
    # match, it is nobody here.
    user = User.objects.filter(tenant=identity.tenant, email__iexact=email).first()
    if user is None:
        return _refuse(
            request,
            identity,
            f"{identity.tenant.name} has no account for {email}. Accounts are created by "
            "your organisation's provisioning; ask a full admin.",
            email=email,
        )
    if not user.is_active:
        return _refuse(
            request,
            identity,
            f"The account {email} has been deprovisioned and cannot sign in.",
            user=user,
        )
    if not may_sign_in(user):
        return _refuse(
            request, identity, f"{email} is a service account and cannot sign in.", user=user
        )
    next_url = request.session.pop(NEXT_KEY, "")
    auth.login(request, user, backend=SESSION_BACKEND)
    audit_record(
        tenant=identity.tenant,
        action=Action.USER_SIGNED_IN,
        via=Via.SSO,
        actor=user,
        subject=user,
        client_ip=client_ip(request),
        detail=f"Single sign-on with {identity.provider_name}.",
    )
    return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


def _refuse(request, identity, message, *, user=None, email="", status=403):
    audit_record(
        tenant=identity.tenant,
        action=Action.USER_SIGN_IN_FAILED,
        via=Via.SSO,
        subject=user,
        client_ip=client_ip(request),
        detail=f"Single sign-on refused{f' for “{email[:100]}”' if email else ''}: {message}",
    )
    context = {"message": message, "identity": identity}
    return render(request, "identity/sso_refused.html", context, status=status)


def provisioning_token_form(data=None):
    form = TokenNameForm(data)
    form.fields["name"].help_text = "Say which provider uses it, e.g. “Okta provisioning”."
    form.fields["name"].error_messages["required"] = (
        "Enter a name for the token, e.g. the identity provider that will use it."
    )
    return form


def _provisioning_tokens(request):
    tokens = Token.objects.filter(kind=TokenKind.PROVISIONING).visible_to(request.user)
    return tokens.select_related("owner")


def _summary(tenant, identity, tokens):
    """The page's first box: whether single sign-on is on and has worked, and how users get in."""
    if identity is not None and identity.sso_ready:
        sso = "On"
    elif identity is not None and identity.sso_enabled:
        sso = "Turned on, but incomplete: it needs a provider name, issuer, client ID and secret"
    else:
        sso = "Off"
    last_sso = (
        AuditEvent.objects.for_tenant(tenant)
        .filter(action=Action.USER_SIGNED_IN, via=Via.SSO)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return {
        "sso": sso,
        "sso_on": sso == "On",
        "provider": identity.provider_name if identity is not None else "",
        "last_sso_sign_in": last_sso,
        "scim_tokens": len(tokens),
        "passwords": identity is None or identity.passwords_allowed,
    }


def _render_settings(request, *, sso_form=None, mapping_form=None, token_form=None, **extra):
    identity = identity_settings_of(request.tenant)
    tenant = request.tenant
    tokens = _provisioning_tokens(request)
    context = {
        "identity": identity,
        "summary": _summary(tenant, identity, tokens),
        "sso_form": sso_form or SsoSettingsForm(instance=identity),
        "mapping_form": mapping_form or RoleMappingForm(instance=identity),
        "token_form": token_form or provisioning_token_form(),
        "tokens": tokens,
        "callback_url": callback_url(tenant),
        "scim_url": tenant.custom_url + "scim/v2",
        "list_url": reverse("identity:settings"),
        "reveal_endpoint": "scim/v2/Users",
        # A GET: it proves the token works and changes nothing (a POST needs a user body).
        "reveal_example": (
            f'curl -H "Authorization: Bearer <token>" "{tenant.custom_url}scim/v2/Users?count=1"'
        ),
        "reveal_intro": "The provisioning token",
        **extra,
    }
    status = (
        400
        if any(f is not None and f.errors for f in (sso_form, mapping_form, token_form))
        else 200
    )
    return render(request, "identity/settings.html", context, status=status)


@allowed(may_manage_identity)
@require_http_methods(["GET", "POST"])
def identity_settings(request):
    if request.method == "GET":
        return _render_settings(request)
    return _save_settings(request, SsoSettingsForm, "sso_form", "Single sign-on settings saved.")


@allowed(may_manage_identity)
@require_http_methods(["POST"])
def role_mapping(request):
    return _save_settings(
        request,
        RoleMappingForm,
        "mapping_form",
        "Role mapping saved. It applies to each user at its next update.",
    )


def _save_settings(request, form_class, form_name, saved):
    """One of the settings page's forms: saved (and audited) and the page again, or the page
    with that form's errors."""
    form = form_class(request.POST, instance=identity_settings_of(request.tenant))
    if not form.is_valid():
        return _render_settings(request, **{form_name: form})
    services.identity_settings_save(form=form, by=request.user, client_ip=client_ip(request))
    messages.success(request, saved)
    return redirect("identity:settings")


@allowed(may_manage_identity)
@require_http_methods(["POST"])
@never_cache
def provisioning_token_add(request):
    form = provisioning_token_form(request.POST)
    if not form.is_valid():
        return _render_settings(request, token_form=form)
    issued = token_issue(
        owner=request.user,
        name=form.cleaned_data["name"],
        kind=TokenKind.PROVISIONING,
        client_ip=client_ip(request),
    )
    # never_cache: the one response that carries the plaintext is never kept by a cache.
    return _render_settings(request, issued=issued)


@allowed(may_manage_identity)
@require_http_methods(["GET", "POST"])
def provisioning_token_revoke(request, token_id):
    token = get_object_or_404(_provisioning_tokens(request).select_related("tenant"), pk=token_id)
    if request.method == "GET":
        return render(request, "identity/token_revoke.html", {"token": token})
    token_revoke(token=token, by=request.user, via=Via.PAGE, client_ip=client_ip(request))
    messages.success(request, f"Provisioning token “{token.name}” was revoked.")
    return redirect("identity:settings")
