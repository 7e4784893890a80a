"""Settings › Security extensions › Service accounts (CONTRACT §15): full admins list the
tenant's service accounts and create them; each account's own page shows its tokens, generates
one, names a new sponsor and changes its role. Here, above tokens, because that page shows and
issues tokens; the rules are tenants.services' and tokens.services', these views only ask."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import Via
from tenants.models import ServiceAccount
from tenants.permissions import (
    may_issue_writable_tokens,
    may_manage_service_accounts,
    sponsorship_lapsed,
)
from tenants.services import service_account_create, service_account_set_sponsor, user_set_role
from tokens.forms import TokenGenerateForm
from tokens.models import Token, TokenKind
from tokens.services import token_issue
from web.access import allowed, undone_when_signed_out
from web.http import client_ip

from .service_account_forms import RoleForm, ServiceAccountForm, SponsorForm

# The tokens the list counts: the account's API tokens that are not revoked, as its page lists.
LIVE_TOKENS = Q(user__tokens__kind=TokenKind.API, user__tokens__revoked_at__isnull=True)


def _accounts(request):
    # The user's tenant too: the No sponsor flag says when the grace ends (sponsor_grace_ends_at).
    return ServiceAccount.objects.filter(tenant=request.tenant).select_related(
        "user__tenant", "sponsor"
    )


def with_live_tokens(accounts):
    """Each account with live_tokens, its count of live tokens, in the list's one query: here
    and in GET /api/v1/service-accounts/ (identity.api)."""
    counted = accounts.annotate(live_tokens=Count("user__tokens", filter=LIVE_TOKENS))
    # By name, as Meta says: Django leaves Meta.ordering out of a query that aggregates.
    return counted.order_by("name")


def _render_list(request, *, form=None, status=200):
    accounts = with_live_tokens(_accounts(request))
    context = {
        "accounts": accounts,
        "form": form or ServiceAccountForm(tenant=request.tenant, creator=request.user),
    }
    return render(request, "identity/service_accounts.html", context, status=status)


@allowed(may_manage_service_accounts)
@require_http_methods(["GET", "POST"])
def service_accounts(request):
    if request.method == "GET":
        return _render_list(request)
    form = ServiceAccountForm(request.POST, tenant=request.tenant, creator=request.user)
    if form.is_valid():
        try:
            account = service_account_create(
                tenant=request.tenant,
                **form.cleaned_data,
                by=request.user,
                via=Via.PAGE,
                client_ip=client_ip(request),
            )
        except ValidationError as error:
            # The name's rules and its uniqueness, or the sponsor's (sponsor_refusal).
            field = "sponsor" if "sponsor" in " ".join(error.messages) else "name"
            form.add_error(field, error.messages)
        else:
            messages.success(
                request, f"Created service account {account.name}. Generate its tokens on its page."
            )
            return redirect("service-accounts:list")
    return _render_list(request, form=form, status=400)


def _account(request, name):
    """The tenant's account of this name, else 404: another tenant's is nobody's here."""
    return get_object_or_404(_accounts(request), name=name)


def _token_form(request, account, data=None):
    """The API tokens page's form and rules (the tenant's policy), for a token the account
    owns: read only when the account's role reads only."""
    form = TokenGenerateForm(
        data, tenant=request.tenant, writable=may_issue_writable_tokens(account.user)
    )
    read_only = form.fields["read_only"]
    read_only.help_text = (
        "The token can read but never write, whatever the account's role."
        if not read_only.disabled
        else f"{account.name} reads only, so its tokens are read only."
    )
    return form


def _render_account(request, account, *, status=200, issued=None, **forms):
    tokens = list(
        Token.objects.api()
        .visible_to(request.user)
        .filter(owner=account.user)
        .order_by("-created_at", "-id")
    )
    for token in tokens:
        token.owner = account.user  # the badge and access notes read it: no query per row
    context = {
        "account": account,
        "tokens": tokens,
        "grace_ends_at": account.user.sponsor_grace_ends_at(),
        "tokens_refused": sponsorship_lapsed(account.user),
        "token_form": forms.get("token_form") or _token_form(request, account),
        "sponsor_form": forms.get("sponsor_form")
        or SponsorForm(tenant=request.tenant, account=account),
        "role_form": forms.get("role_form") or RoleForm(initial={"role": account.user.role}),
        "issued": issued,
        # The reveal's Done, and where reload and Back lead once it was shown (portal.js).
        "list_url": reverse("service-accounts:detail", args=[account.name]),
        "reveal_intro": f"{account.name}'s token",
    }
    return render(request, "identity/service_account.html", context, status=status)


@allowed(may_manage_service_accounts)
@require_http_methods(["GET"])
def service_account_detail(request, name):
    return _render_account(request, _account(request, name))


@undone_when_signed_out("no token was generated")
@allowed(may_manage_service_accounts)
@require_POST
@never_cache
def service_account_token(request, name):
    account = _account(request, name)
    form = _token_form(request, account, request.POST)
    if not form.is_valid():
        return _render_account(request, account, token_form=form, status=400)
    issued = token_issue(
        owner=account.user,
        name=form.cleaned_data["name"],
        expires_at=form.cleaned_data["expires_at"],
        access=form.cleaned_data["access"],
        allowed_networks=form.cleaned_data["allowed_networks"],
        by=request.user,
        client_ip=client_ip(request),
    )
    # never_cache: the one response that carries the plaintext is never kept by a cache.
    return _render_account(request, account, issued=issued)


@undone_when_signed_out("the sponsor was not changed")
@allowed(may_manage_service_accounts)
@require_POST
def service_account_sponsor(request, name):
    account = _account(request, name)
    form = SponsorForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        sponsor = form.cleaned_data["sponsor"]
        try:
            changed = service_account_set_sponsor(
                account=account,
                sponsor=sponsor,
                by=request.user,
                via=Via.PAGE,
                client_ip=client_ip(request),
            )
        except ValidationError as error:  # deprovisioned since the form read the choices
            form.add_error("sponsor", error.messages)
        else:
            said = "now sponsors" if changed else "already sponsors"
            messages.success(request, f"{sponsor.email} {said} {account.name}.")
            return redirect("service-accounts:detail", account.name)
    return _render_account(request, account, sponsor_form=form, status=400)


@undone_when_signed_out("the role was not changed")
@allowed(may_manage_service_accounts)
@require_POST
def service_account_role(request, name):
    account = _account(request, name)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _render_account(request, account, role_form=form, status=400)
    user = account.user
    changed = user_set_role(
        user=user,
        role=form.cleaned_data["role"],
        by=request.user,
        via=Via.PAGE,
        client_ip=client_ip(request),
    )
    role = user.get_role_display()
    if changed:
        messages.success(
            request, f"{account.name} is now {role}: its tokens act as {role} from their next call."
        )
    else:
        messages.info(request, f"{account.name} already is {role}.")
    return redirect("service-accounts:detail", account.name)
