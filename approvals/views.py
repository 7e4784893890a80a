from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tenants.permissions import (
    may_decide_token_requests,
    must_request_tokens,
    token_creation_refusal,
)
from tokens.views import carried_back, carried_place, list_url_at, render_token_page
from web.access import allowed, undone_when_signed_out
from web.http import client_ip

from . import services
from .forms import TokenApproveForm, TokenDenyForm, form_prefix, request_form
from .models import TokenRequest

RECENT_DECISIONS = 20


def _visible(request):
    return TokenRequest.objects.visible_to(request.user).select_related("requester", "decided_by")


@allowed(may_decide_token_requests)
def request_list(request, *, forms_of=None, status=200):
    """The tenant's pending requests, each with its Approve and Deny forms (forms_of: one
    request's forms sent back with their errors), and the latest decisions."""
    now = timezone.now()
    visible = _visible(request)
    pending = list(visible.pending().order_by("created_at", "id"))
    for token_request in pending:
        sent = (forms_of or {}).get(token_request.pk, {})
        token_request.approve_form = sent.get("approve") or TokenApproveForm(
            token_request=token_request, now=now
        )
        token_request.deny_form = sent.get("deny") or TokenDenyForm(
            prefix=form_prefix(token_request, "deny")
        )
    decided = visible.exclude(status="pending").order_by("-decided_at", "id")[:RECENT_DECISIONS]
    context = {"pending": pending, "decided": decided, "now": now}
    return render(request, "approvals/request_list.html", context, status=status)


@undone_when_signed_out("no token was requested")
@require_http_methods(["GET", "POST"])
def request_new(request):
    """The Request a token dialog's form: rendered open on the tokens page without
    JavaScript (GET), sent (POST): a pending request, then back to the list, which shows it."""
    source = request.POST if request.method == "POST" else request.GET
    query = carried_place(source)
    if not must_request_tokens(request.user):
        # Those who may generate do so; those the policy leaves out are told why (the page).
        if request.method == "GET":
            return redirect(list_url_at(carried_back(source)))
        messages.error(
            request,
            token_creation_refusal(request.user)
            or "Your token policy lets you generate tokens yourself: use Generate new token.",
        )
        return render_token_page(request, query=query, status=403)
    if request.method == "GET":
        return render_token_page(request, query=query, status=200, dialog="request")
    form = request_form(request, request.POST)
    if not form.is_valid():
        extra = {"request_form": form}
        return render_token_page(request, query=query, status=400, dialog="request", extra=extra)
    token_request = services.token_request_create(
        requester=request.user,
        name=form.cleaned_data["name"],
        reason=form.cleaned_data["reason"],
        access=form.cleaned_data["access"],
        allowed_networks=form.cleaned_data["allowed_networks"],
        expires_at=form.cleaned_data["expires_at"],
        client_ip=client_ip(request),
    )
    messages.success(
        request,
        f"Token “{token_request.name}” requested. A full admin of {request.tenant.name} "
        "decides on it; you will get an e-mail either way.",
    )
    return redirect(list_url_at(carried_back(request.POST)) + "#token-requests")


@undone_when_signed_out("the request was not approved")
@allowed(may_decide_token_requests)
@require_http_methods(["POST"])
def request_approve(request, request_id):
    token_request = get_object_or_404(_visible(request), pk=request_id)
    form = TokenApproveForm(request.POST, token_request=token_request, now=timezone.now())
    if token_request.status != "pending":
        messages.info(request, f"The request “{token_request.name}” was already decided.")
        return redirect("approvals:list")
    if not form.is_valid():
        return request_list(request, forms_of={token_request.pk: {"approve": form}}, status=400)
    try:
        services.token_request_approve(
            request=token_request,
            by=request.user,
            access=form.cleaned_data["access"],
            allowed_networks=form.cleaned_data["allowed_networks"],
            expires_at=form.cleaned_data["expires_at"],
            note=form.cleaned_data["note"],
            client_ip=client_ip(request),
        )
    except services.NotDecidable as error:
        messages.info(request, str(error))
        return redirect("approvals:list")
    narrower = " narrower than asked" if token_request.narrowed else ""
    messages.success(
        request,
        f"Approved “{token_request.name}”{narrower} for {token_request.requester.email}, who "
        "is told by e-mail to reveal it on the tokens page within 7 days.",
    )
    return redirect("approvals:list")


@undone_when_signed_out("the request was not denied")
@allowed(may_decide_token_requests)
@require_http_methods(["POST"])
def request_deny(request, request_id):
    """Deny after a confirmation: the first POST (the note written on the list) shows what
    will be sent; the confirmed one denies."""
    token_request = get_object_or_404(_visible(request), pk=request_id)
    if token_request.status != "pending":
        messages.info(request, f"The request “{token_request.name}” was already decided.")
        return redirect("approvals:list")
    form = TokenDenyForm(request.POST, prefix=form_prefix(token_request, "deny"))
    if not form.is_valid():
        return request_list(request, forms_of={token_request.pk: {"deny": form}}, status=400)
    if request.POST.get("confirmed") != "1":
        context = {"token_request": token_request, "form": form}
        return render(request, "approvals/deny_confirm.html", context)
    try:
        services.token_request_deny(
            request=token_request,
            by=request.user,
            note=form.cleaned_data["note"],
            client_ip=client_ip(request),
        )
    except services.NotDecidable as error:
        messages.info(request, str(error))
        return redirect("approvals:list")
    messages.success(
        request,
        f"Denied “{token_request.name}”; {token_request.requester.email} is told by e-mail, "
        "with your note.",
    )
    return redirect("approvals:list")


@undone_when_signed_out("the token was not revealed")
@require_http_methods(["GET", "POST"])
@never_cache
def request_reveal(request, request_id):
    """The requester's one reveal of an approved token, on the tokens page's reveal dialog.
    Only their own requests are found (others': 404); a GET (a reload after the reveal, a
    bookmark) leads to the list, where the request says it was revealed."""
    token_request = get_object_or_404(
        TokenRequest.objects.filter(requester=request.user, tenant=request.tenant),
        pk=request_id,
    )
    if request.method == "GET":
        return redirect(list_url_at("") + "#token-requests")
    try:
        issued = services.token_request_reveal(
            request=token_request, by=request.user, client_ip=client_ip(request)
        )
    except services.NotRevealable as error:
        messages.error(request, str(error))
        return redirect(list_url_at("") + "#token-requests")
    extra = {"reveal_intro": "Your approved request"}
    return render_token_page(
        request,
        query=carried_place(request.POST),
        issued=issued,
        status=200,
        dialog="reveal",
        extra=extra,
    )
