import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .forms import StatusFilterForm, TokenNameForm
from .models import Token, TokenStatus, api_token_listing
from .services import token_issue

PAGE_SIZE = 50
STATUS_LABELS = [("all", "All"), *TokenStatus.choices]
SUBMITTED_FORMS_KEPT = 20


def _render_page(request, *, status, name_form=None, issued=None, dialog=None):
    filter_form = StatusFilterForm(request.GET)
    filter_error = None
    if filter_form.is_valid():
        status_filter = filter_form.cleaned_data["status"]
    else:
        status_filter = "all"
        filter_error = filter_form.errors["status"][0]
    tokens = api_token_listing(request.user, status_filter)
    page = Paginator(tokens, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status_filter": status_filter,
        "status_filter_error": filter_error,
        "statuses": _status_choices(request.user),
        "status_label": dict(STATUS_LABELS)[status_filter],
        "shows_owner": request.user.sees_all_tokens,
        "name_form": name_form or TokenNameForm(),
        "form_id": uuid.uuid4().hex,
        "issued": issued,
        "dialog": dialog,
    }
    if filter_error and status == 200:
        status = 400
    return render(request, "tokens/token_list.html", context, status=status)


def _status_choices(user):
    counts = Token.objects.api().visible_to(user).status_counts()
    return [(value, label, counts[value]) for value, label in STATUS_LABELS]


def token_list(request):
    return _render_page(request, status=200)


@require_http_methods(["GET", "POST"])
@never_cache
def token_generate(request):
    if request.method == "GET":
        return _render_page(request, status=200, dialog="generate")
    if not _first_submission(request, request.POST.get("form_id", "")):
        messages.warning(
            request,
            "That form was already submitted: its token is in the list below, but its value "
            "cannot be shown again. Generate a new token if you did not copy it.",
        )
        return redirect("tokens:list")
    form = TokenNameForm(request.POST)
    if not form.is_valid():
        return _render_page(request, name_form=form, status=400, dialog="generate")
    issued = token_issue(owner=request.user, name=form.cleaned_data["name"])
    # never_cache sets no-store: the one response that carries the plaintext is never kept by
    # a browser or proxy cache, so Back and reload cannot show it again.
    return _render_page(request, issued=issued, status=200, dialog="reveal")


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


@require_http_methods(["GET", "POST"])
def token_revoke(request, token_id):
    token = get_object_or_404(
        Token.objects.api().visible_to(request.user).select_related("owner"), pk=token_id
    )
    if request.method == "GET":
        return render(request, "tokens/token_revoke.html", {"token": token})
    token.revoke(by=request.user)
    messages.success(request, f"Token “{token.name}” was revoked. Calls with it now fail.")
    return redirect(_list_url(request.POST.get("status")))


def _list_url(status):
    url = reverse("tokens:list")
    form = StatusFilterForm({"status": status or ""})
    if form.is_valid() and form.cleaned_data["status"] != "all":
        url += f"?status={form.cleaned_data['status']}"
    return url
