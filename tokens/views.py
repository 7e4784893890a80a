import re
import uuid

from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from audit import retention
from audit.models import Action, AuditEvent, Via
from tenants.permissions import (
    may_issue_writable_tokens,
    may_narrow_token,
    may_resume_token,
    may_review_new_networks,
    may_revoke_others_tokens,
    may_rotate_token,
    may_see_others_tokens,
    may_see_revoked_tokens,
    may_set_token_policy,
    may_suspend_token,
    token_generation_refusal,
)
from tenants.services import POLICY_FIELDS, tenant_save
from web.access import allowed, undone_when_signed_out
from web.http import client_ip

from . import counts, services, sightings, usage
from .forms import (
    TokenGenerateForm,
    TokenNetworksForm,
    TokenPageListingForm,
    TokenPolicyForm,
    TokenRotateForm,
)
from .models import DEFAULT_SORT, STATUS_FILTER_CHOICES, Token, api_token_listing

PAGE_SIZE = 50
SUBMITTED_FORMS_KEPT = 20


def _visible(request):
    return Token.objects.api().visible_to(request.user)


# What a confirmation shows of a token: its owner as people read it (tenants/user_label.html), and
# the tenant whose policy the rotation summary reads.
CONFIRMED = ("owner__service_account", "tenant")


# Who revoked a token when no person did (Token.revoked_by is empty): the audit event's channel.
REVOKED_VIA = {
    Via.SWEEP: "the daily sweep",
    Via.LEAK_REPORT: "a leak report",
    Via.SCIM: "SCIM deprovisioning",
    Via.SSO: "single sign-on",
    Via.COMMAND: "a management command",
    Via.SYSTEM: "the system",
}


def _revoked_tokens(user):
    """The revoked API tokens the user may look into, newest revocation first, each with who
    revoked it (revoked_by_label) read from the model or, failing that, the audit trail."""
    event = AuditEvent.objects.filter(token=OuterRef("pk"), action=Action.TOKEN_REVOKED)
    return (
        Token.objects.api()
        .revoked_visible_to(user)
        .select_related("owner__service_account", "revoked_by")
        .annotate(
            revoked_actor_email=Subquery(event.values("actor_email")[:1]),
            revoked_via=Subquery(event.values("via")[:1]),
            revoked_detail=Subquery(event.values("detail")[:1]),
        )
        .order_by("-revoked_at", "-id")
    )


def _label_revoker(token):
    if token.revoked_by is not None:
        token.revoked_by_label = token.revoked_by.email
    else:
        token.revoked_by_label = token.revoked_actor_email or REVOKED_VIA.get(
            token.revoked_via, "an unrecorded actor"
        )
        reason = services.sweep_reason(token.revoked_detail or "")
        if token.revoked_via == Via.SWEEP and reason:
            token.revoked_by_label += f": {reason}"  # "… by the daily sweep: unused for 90 days"
    return token


# The list's filters and their defaults, in the order the listing form declares them.
LISTING_DEFAULTS = (
    ("status", "all"),
    ("q", ""),
    ("sort", DEFAULT_SORT),
    ("expiring", ""),
    ("unused", None),
)
# A form carries the list's query string back (`back`): a few filters, a search of at most
# SEARCH_MAX_LENGTH characters and a page number, so anything longer is cut before parsing.
BACK_MAX_LENGTH = 1000


def _listing(query):
    """The page's listing form on query (a QueryDict), and the filters to list by: each value
    it accepts, the default for any other. A bad value is named above the table, which lists
    as if it had not been given."""
    listing = TokenPageListingForm(query)
    listing.is_valid()
    return listing, {
        name: listing.cleaned_data.get(name, default) for name, default in LISTING_DEFAULTS
    }


def render_token_page(
    request, *, status, query=None, generate_form=None, issued=None, dialog=None, extra=None
):
    """The tokens list at query (request.GET unless a form carried the list's query back).
    extra: context of a floor above that renders this page too (approvals: its request
    dialog, open with its errors, or the reveal of an approved request)."""
    query = request.GET if query is None else query
    listing, filters = _listing(query)
    status_filter, q, sort, expiring, unused = filters.values()
    # The Revoked choice is an extra one for full admins (like Owner deprovisioned); every
    # other choice lists live tokens only, so a revoked token leaves them at once (§4).
    revoked_only = query.get("revoked") == "1" and may_see_revoked_tokens(request.user)
    deprovisioned_only = query.get("owner") == "deprovisioned" and not revoked_only
    if revoked_only:
        tokens, name = _revoked_tokens(request.user), "revoked"
    else:
        tokens = api_token_listing(request.user, status_filter, q=q, sort=sort)
        tokens = tokens.flagging_new_networks()
        if deprovisioned_only:
            tokens = tokens.with_deprovisioned_owner()
        now = timezone.now()
        if expiring:
            tokens = tokens.expiring_soon(now)
        if unused:
            tokens = tokens.unused_for(unused, now)
        owner = "deprovisioned" if deprovisioned_only else "any"
        name = counts.listing_name(status_filter, owner=owner, q=q, narrowed=listing.narrowing())
    paginator = counts.CountedPaginator(
        tokens, PAGE_SIZE, scope=counts.scope_of(request.user), name=name
    )
    page = paginator.get_page(query.get("page"))
    rows = list(page.object_list)
    for token in rows:
        # Every row is the tenant's: the rotate confirmation reads its policy from it.
        token.tenant = request.tenant
    page.object_list = rows
    if revoked_only:
        for token in rows:
            _label_revoker(token)
    back = _back_query(_page_query(filters, deprovisioned_only, revoked_only), page.number)
    context = {
        "rotation_explained": not revoked_only
        and any(not may_rotate_token(request.user, token) for token in rows),
        "page": page,
        "status_filter": status_filter,
        "listing_errors": [error for errors in listing.errors.values() for error in errors],
        "listing_form": listing,
        "q": q,
        "sort": sort,
        "columns": _sort_columns(filters, deprovisioned_only),
        "sort_choices": SORT_CHOICES,
        "deprovisioned_only": deprovisioned_only,
        "revoked_only": revoked_only,
        "statuses": _status_choices(request.user),
        "status_label": dict(STATUS_FILTER_CHOICES)[status_filter],
        "shows_owner": may_see_others_tokens(request.user),
        "generate_form": generate_form or _generate_form(request),
        "form_id": uuid.uuid4().hex,
        "rotate_form": TokenRotateForm(tenant=request.tenant),
        "issued": issued,
        "dialog": dialog,
        "query": _page_query(filters, deprovisioned_only, revoked_only),
        "clear_search_query": _page_query({**filters, "q": ""}, deprovisioned_only),
        "expiring": "" if revoked_only else expiring,
        "unused": None if revoked_only else unused,
        "unnarrowed_query": _page_query(
            {**filters, "expiring": "", "unused": None}, deprovisioned_only
        ),
        # What the status links keep of the list: the search and the order.
        "kept_query": _page_query(filters, False).partition("&")[2],
        # Where on the list every action leads back to (a form's `back`, the reveal's Done).
        "back": back,
        "list_url": list_url_at(back),
    }
    context.update(extra or {})
    if listing.errors and status == 200:
        status = 400
    return render(request, "tokens/token_list.html", context, status=status)


# The sortable columns: (label, sort key), each a link that sorts by it, and whose second
# click reverses the order. Dates start newest first, names from A.
SORT_COLUMNS = (("Name", "name"), ("Generated", "-created_at"), ("Last used", "-last_used_at"))


# The same orders as a list, for phones, where a table's header row is not shown.
SORT_CHOICES = (
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("-last_used_at", "Used most recently"),
    ("last_used_at", "Used least recently"),
)


def _sort_columns(filters, deprovisioned_only):
    columns = {}
    current = filters["sort"]
    for label, first in SORT_COLUMNS:
        key = first.lstrip("-")
        sorted_here = current.lstrip("-") == key
        if sorted_here:
            following = key if current.startswith("-") else f"-{key}"
            aria_sort = "descending" if current.startswith("-") else "ascending"
        else:
            following, aria_sort = first, None
        columns[key] = {
            "label": label,
            "aria_sort": aria_sort,
            "query": _page_query({**filters, "sort": following}, deprovisioned_only),
        }
    return columns


def _page_query(filters, deprovisioned_only, revoked_only=False):
    """The list's query string without page: only the values that differ from the default
    beside the status, so that links stay short."""
    if revoked_only:
        return "revoked=1"
    query = {"status": filters["status"]}
    if filters["q"]:
        query["q"] = filters["q"]
    if filters["sort"] != DEFAULT_SORT:
        query["sort"] = filters["sort"]
    if deprovisioned_only:
        query["owner"] = "deprovisioned"
    for narrowing in ("expiring", "unused"):
        if filters.get(narrowing):
            query[narrowing] = filters[narrowing]
    return urlencode(query)


def _back_query(page_query, page_number):
    """The query string of a place on the list: page_query (_page_query's) and the page.
    Empty for the list's first page as it opens."""
    if page_number > 1:
        page_query += f"&page={page_number}"
    return "" if page_query == "status=all" else page_query


def list_url_at(back):
    url = reverse("tokens:list")
    return f"{url}?{back}" if back else url


def _carried_query(data):
    """The list's query a form carried back to it, as a QueryDict: its `back` field (a query
    string the page wrote; a form of the previous release carried its status only). It is
    only ever read as the list's filters, never used as a URL."""
    if "back" in data:
        return QueryDict(data["back"][:BACK_MAX_LENGTH])
    return QueryDict(urlencode({"status": data.get("status", "")}))


def carried_back(data):
    """The place on the list a form came from, as the query string to lead back to: what
    _carried_query reads, through the same listing form as the page, keeping only the filters
    it accepts, owner=deprovisioned and a page number. Anything else is dropped, so a link or
    redirect built on it always stays on the tokens list (no open redirect)."""
    query = _carried_query(data)
    _form, filters = _listing(query)
    page = query.get("page", "")
    page_number = int(page) if re.fullmatch(r"[1-9][0-9]{0,6}", page) else 1
    return _back_query(_page_query(filters, query.get("owner") == "deprovisioned"), page_number)


def carried_place(data):
    """carried_back as the query the list is rendered at (behind a dialog)."""
    return QueryDict(carried_back(data))


def _status_choices(user):
    tokens = Token.objects.api().visible_to(user)
    scope = counts.scope_of(user)
    by_status = counts.cached(scope, "statuses", tokens.status_counts)
    choices = [(value, label, by_status[value]) for value, label in STATUS_FILTER_CHOICES]
    deprovisioned = revoked = None
    if may_see_others_tokens(user):
        deprovisioned = counts.cached(
            scope, "all:deprovisioned", tokens.with_deprovisioned_owner().count
        )
    if may_see_revoked_tokens(user):
        revoked = counts.cached(
            scope, "revoked", Token.objects.api().revoked_visible_to(user).count
        )
    return {"choices": choices, "deprovisioned": deprovisioned, "revoked": revoked}


def token_list(request):
    return render_token_page(request, status=200)


@undone_when_signed_out("no token was generated")
@require_http_methods(["GET", "POST"])
@never_cache
def token_generate(request):
    if request.method == "GET":
        # Without JavaScript the list's button leads here, carrying where on the list it was.
        query = carried_place(request.GET) if "back" in request.GET else request.GET
        if token_generation_refusal(request.user):
            return render_token_page(request, status=200, query=query)
        return render_token_page(request, status=200, query=query, dialog="generate")
    query = carried_place(request.POST)
    refusal = token_generation_refusal(request.user)
    if refusal:
        # The page offers no Generate button then; a form sent anyway (an older page still
        # open, a hand-made POST) makes nothing and says why.
        messages.error(request, refusal)
        return render_token_page(request, query=query, status=403)
    if not _first_submission(request, request.POST.get("form_id", "")):
        messages.warning(
            request,
            "That form was already submitted: its token is in the list below, but its value "
            "cannot be shown again. Generate a new token if you did not copy it.",
        )
        return redirect(list_url_at(carried_back(request.POST)))
    form = _generate_form(request, request.POST)
    if not form.is_valid():
        return render_token_page(
            request, query=query, generate_form=form, status=400, dialog="generate"
        )
    issued = services.token_issue(
        owner=request.user,
        name=form.cleaned_data["name"],
        expires_at=form.cleaned_data["expires_at"],
        access=form.cleaned_data["access"],
        allowed_networks=form.cleaned_data["allowed_networks"],
        client_ip=client_ip(request),
    )
    # never_cache sets no-store: the one response that carries the plaintext is never kept by
    # a browser or proxy cache, so Back and reload cannot show it again.
    return render_token_page(request, query=query, issued=issued, status=200, dialog="reveal")


def _generate_form(request, data=None):
    return TokenGenerateForm(
        data, tenant=request.tenant, writable=may_issue_writable_tokens(request.user)
    )


def _first_submission(request, form_id):
    """Reloading the reveal page resubmits its form; do not issue a second token for it."""
    try:
        uuid.UUID(hex=form_id)
    except ValueError:
        return True  # no usable id (e.g. a hand-made request): nothing to de-duplicate
    submitted = request.session.get("submitted_token_forms", [])
    if form_id in submitted:
        return False
    request.session["submitted_token_forms"] = [*submitted, form_id][-SUBMITTED_FORMS_KEPT:]
    return True


def token_detail(request, token_id):
    token = _visible(request).select_related("owner__service_account").filter(pk=token_id).first()
    if token is None:
        # A revoked token's page, read only, for whoever may see the token; a 404 to others.
        token = _label_revoker(get_object_or_404(_revoked_tokens(request.user), pk=token_id))
    return _render_detail(request, token)


def _networks_editable(user, token):
    """A token's allowed networks are edited on its page while it can still be used: not once
    it is revoked or expired (rotating an expired token revives it, networks and all)."""
    return not token.is_revoked and not token.is_expired and may_narrow_token(user, token)


def _render_detail(request, token, networks_form=None, status=200):
    if networks_form is None and _networks_editable(request.user, token):
        networks_form = TokenNetworksForm(
            initial={"allowed_networks": token.allowed_networks}, tenant=request.tenant
        )
    context = {
        "token": token,
        "networks_form": networks_form,
        "rotate_form": TokenRotateForm(tenant=request.tenant),
        "requests_30_days": usage.requests_last_30_days(token),
        "counts_catching_up": usage.counts_catching_up(token),
        "usage_chart": usage.token_chart(token),
        "addresses": usage.recent_addresses(token),
        # A revoked token's new networks need no review: revoking was the answer.
        "new_networks": [] if token.is_revoked else sightings.unreviewed(token),
        "events": AuditEvent.objects.filter(token=token, tenant=request.tenant).select_related(
            "actor__service_account"
        )[:20],
    }
    return render(request, "tokens/token_detail.html", context, status=status)


@undone_when_signed_out("the allowed networks were not saved")
@require_http_methods(["POST"])
def token_networks(request, token_id):
    token = get_object_or_404(_visible(request).select_related("owner", "tenant"), pk=token_id)
    if not may_narrow_token(request.user, token):
        raise Http404
    if not _networks_editable(request.user, token):
        messages.error(
            request,
            f"“{token.name}” has expired, so its allowed networks were not changed. Rotate it "
            "to use it again; its networks can then be changed.",
        )
        return redirect("tokens:detail", token_id=token.pk)
    form = TokenNetworksForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        return _render_detail(request, token, networks_form=form, status=400)
    try:
        changed = services.token_set_networks(
            token=token,
            allowed_networks=form.cleaned_data["allowed_networks"],
            by=request.user,
            client_ip=client_ip(request),
        )
    except services.TokenChanged:
        messages.error(
            request,
            "Someone changed this token's allowed networks at the same moment; yours were not "
            "saved. Check them below and save again.",
        )
        return redirect("tokens:detail", token_id=token.pk)
    if changed:
        messages.success(request, "Allowed networks saved. Calls from elsewhere now fail.")
    return redirect("tokens:detail", token_id=token.pk)


@undone_when_signed_out("the new networks were not marked reviewed")
@require_http_methods(["POST"])
def review_networks(request, token_id):
    """A full admin has looked at where a token was newly used from: its flag goes."""
    token = get_object_or_404(_visible(request).select_related("owner", "tenant"), pk=token_id)
    if not may_review_new_networks(request.user):
        raise Http404
    if sightings.mark_reviewed(token, by=request.user, client_ip=client_ip(request)):
        messages.success(request, f"New networks of “{token.name}” marked reviewed.")
    else:
        messages.info(request, f"“{token.name}” has no new network to review.")
    return redirect("tokens:detail", token_id=token.pk)


@undone_when_signed_out("the token was not revoked")
@require_http_methods(["GET", "POST"])
def revoke(request, token_id):
    token = get_object_or_404(_visible(request).select_related(*CONFIRMED), pk=token_id)
    if request.method == "GET":
        return _confirm(request, token, "revoke")
    services.token_revoke(token=token, by=request.user, via=Via.PAGE, client_ip=client_ip(request))
    messages.success(request, f"Token “{token.name}” was revoked. Calls with it now fail.")
    return redirect(list_url_at(carried_back(request.POST)))


@undone_when_signed_out("the token was not suspended")
@require_http_methods(["GET", "POST"])
def suspend(request, token_id):
    """Suspend, after a confirmation (the dialog, or this page's without JavaScript): calls
    are refused until it is resumed; back to the token's page, which says so."""
    token = get_object_or_404(_visible(request).select_related(*CONFIRMED), pk=token_id)
    if not may_suspend_token(request.user, token):
        raise Http404
    if request.method == "GET":
        return _confirm(request, token, "suspend")
    if services.token_suspend(token=token, by=request.user, client_ip=client_ip(request)):
        messages.success(
            request, f"Token “{token.name}” was suspended. Calls with it are refused until resumed."
        )
    else:
        messages.info(request, f"Token “{token.name}” was already suspended.")
    return redirect("tokens:detail", token_id=token.pk)


@undone_when_signed_out("the token was not resumed")
@require_http_methods(["POST"])
def resume(request, token_id):
    token = get_object_or_404(_visible(request).select_related("owner", "tenant"), pk=token_id)
    if not may_suspend_token(request.user, token):
        raise Http404
    if token.is_suspended and not may_resume_token(request.user, token):
        messages.error(
            request,
            f"{token.suspender} suspended “{token.name}”: only a full admin may resume it.",
        )
    elif services.token_resume(token=token, by=request.user, client_ip=client_ip(request)):
        messages.success(request, f"Token “{token.name}” was resumed. Calls with it work again.")
    else:
        messages.info(request, f"Token “{token.name}” was not suspended.")
    return redirect("tokens:detail", token_id=token.pk)


def _confirm(request, token, action, *, rotate_form=None, status=200):
    """The confirmation page of a row's action, without JavaScript: its form and its Cancel
    lead back to where on the list the row's button was. A rotation's asks when the old value
    stops (rotate_form; sent back with its error when the choice was not one offered)."""
    back = carried_back(request.POST if request.method == "POST" else request.GET)
    context = {
        "token": token,
        "action": action,
        "back": back,
        "list_url": list_url_at(back),
        "rotate_form": rotate_form,
    }
    return render(request, "tokens/token_confirm.html", context, status=status)


@undone_when_signed_out("the token was not rotated")
@require_http_methods(["GET", "POST"])
@never_cache
def rotate(request, token_id):
    token = get_object_or_404(_visible(request).select_related(*CONFIRMED), pk=token_id)
    if not may_rotate_token(request.user, token):
        raise Http404
    if request.method == "GET":
        form = TokenRotateForm(tenant=request.tenant)
        return _confirm(request, token, "rotate", rotate_form=form)
    form = TokenRotateForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        return _confirm(request, token, "rotate", rotate_form=form, status=400)
    issued = services.token_rotate(
        token=token,
        by=request.user,
        overlap=form.cleaned_data["overlap"],
        client_ip=client_ip(request),
    )
    if issued is None:  # revoked meanwhile
        raise Http404
    return render_token_page(
        request, query=carried_place(request.POST), issued=issued, status=200, dialog="reveal"
    )


@undone_when_signed_out("no token was revoked")
@allowed(may_revoke_others_tokens)
@require_http_methods(["GET", "POST"])
def revoke_deprovisioned(request):
    tokens = _visible(request).with_deprovisioned_owner().select_related("owner__service_account")
    if request.method == "GET":
        # Cancel leads back to the list the button was on, else to the tokens it concerns.
        data = request.GET if "back" in request.GET else {"back": "owner=deprovisioned"}
        back = carried_back(data)
        context = {
            "tokens": tokens[:200],
            "count": tokens.count(),
            "back": back,
            "list_url": list_url_at(back),
        }
        return render(request, "tokens/revoke_deprovisioned.html", context)
    revoked = services.tokens_revoke_of_deprovisioned_owners(
        tenant=request.tenant, by=request.user, client_ip=client_ip(request)
    )
    messages.success(
        request, f"Revoked {revoked} token{'s' if revoked != 1 else ''} of deprovisioned owners."
    )
    return redirect(list_url_at(carried_back(request.POST)))


@undone_when_signed_out("the token policy was not saved")
@allowed(may_set_token_policy)
@require_http_methods(["GET", "POST"])
def token_policy(request):
    tenant = request.tenant
    form = TokenPolicyForm(request.POST or None, instance=tenant)
    preview = None
    if request.method == "POST" and form.is_valid():
        # The valid form has set the policy on the tenant (in memory). Before it is saved,
        # the admin sees which existing tokens it revokes or flags, and which audit events it
        # deletes, and confirms that.
        preview = _policy_preview(tenant)
        confirmed = request.POST.get("previewed") == preview["fingerprint"]
        affected = ("unused", "suspended", "too_long", "audit_events")
        if confirmed or not any(preview[key] for key in affected):
            # The page sets the whole policy, and each save of it is audited, changed or not.
            tenant_save(
                tenant=tenant, changed=POLICY_FIELDS, by=request.user, client_ip=client_ip(request)
            )
            messages.success(request, "Token policy saved.")
            return redirect("tokens:policy")
    status = 400 if form.errors else 200
    return render(
        request, "tokens/token_policy.html", {"form": form, "preview": preview}, status=status
    )


PREVIEW_NAMES = 10


def _policy_preview(tenant):
    """What the policy set on `tenant` (unsaved) does to its live tokens: those the daily
    sweep will revoke as unused, and the API tokens living longer than the maximum; and how
    many audit events its retention deletes. The
    fingerprint names the policy previewed, so a confirmation saves only that one."""
    now = timezone.now()
    tokens = Token.objects.filter(tenant=tenant).select_related("owner__service_account")
    preview = {
        "fingerprint": "|".join(str(getattr(tenant, name)) for name in POLICY_FIELDS),
        "unused": None,
        "suspended": None,
        "too_long": None,
        "audit_events": None,
    }
    if tenant.audit_retention_days:
        # Deleting the audit trail cannot be undone: say how much goes before it does.
        count = retention.purge(tenant.pk, tenant.audit_retention_days, now=now, dry_run=True)
        if count:
            preview["audit_events"] = {"count": count, "days": tenant.audit_retention_days}
    for key, days, matching in (
        ("unused", tenant.token_inactive_revoke_days, tokens.unused_for),
        ("suspended", tenant.token_suspension_revoke_days, tokens.suspended_longer_than),
        ("too_long", tenant.token_max_lifetime_days, tokens.living_longer_than),
    ):
        if days:
            found = matching(days, now).order_by("name", "pk")
            count = found.count()
            if count:
                preview[key] = {"count": count, "days": days, "first": found[:PREVIEW_NAMES]}
    return preview
