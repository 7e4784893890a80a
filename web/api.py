"""The JSON API's toolkit: the error body, the endpoint decorator, the page envelope and
timestamps (CONTRACT §5). It knows no app: what an endpoint returns is the app's business."""

from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import EmptyPage, Paginator
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .auth import Access

API_PREFIX = "/api/"
SCIM_PREFIX = "/scim/"  # identity's SCIM 2.0 service
# Where only a token authenticates: no session is read under these (CONTRACT §5, §9).
TOKEN_PREFIXES = (API_PREFIX, SCIM_PREFIX)


def api_error(status, detail, **headers):
    """The API's one error body, {"detail": "<sentence>"}; a 401 names the Token scheme."""
    response = JsonResponse({"detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Token"
    for name, value in headers.items():
        response[name] = value
    return response


def api_refusal(refusal):
    """The answer to a refusal (web.auth): its status, its detail, its headers."""
    return api_error(refusal.status, refusal.detail, **refusal.headers)


def api_view(*methods, kinds=None, public=False, narrows_itself=None, rotates_itself=None):
    """A JSON endpoint and what it accepts (web.auth.Access, also `view.access`): by default a
    token that acts as its owner; `kinds`, tokens of those kinds; `public`, anyone;
    `narrows_itself` and `rotates_itself`, the URL argument naming a token that a PATCH
    narrows or a POST rotates (web.auth.Access).

    Before anything else the caller is checked: a refusal is answered as the API's error (401,
    403, or 429 past the failure limit), then methods outside `methods` get 405 with Allow.
    Never cached. CSRF does not apply: the API accepts no session cookie, only the
    Authorization header.
    """
    access = Access(
        kinds=kinds, public=public, narrows_itself=narrows_itself, rotates_itself=rotates_itself
    )
    allowed = [*methods, "HEAD"] if "GET" in methods else list(methods)

    def decorator(view):
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refusal = access.refusal(request, kwargs)
            if refusal is not None:
                return api_refusal(refusal)
            if request.method not in allowed:
                return api_error(
                    405, f"Method {request.method} is not allowed here.", Allow=", ".join(allowed)
                )
            response = view(request, *args, **kwargs)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        wrapper.access = access
        return wrapper

    return decorator


def iso(value):
    """A timestamp as ISO 8601 UTC with a Z, or None for never."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class PageForm(forms.Form):
    """?page= and ?page_size= of the API's paginated lists."""

    DEFAULT_PAGE_SIZE = 50

    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**9,
        error_messages={"invalid": "Enter a whole number of 1 or more."},
    )
    page_size = forms.IntegerField(required=False, min_value=1, max_value=200)

    def clean_page(self):
        return self.cleaned_data["page"] or 1

    def clean_page_size(self):
        return self.cleaned_data["page_size"] or self.DEFAULT_PAGE_SIZE


def paginated(request, queryset, to_json, paginator=Paginator):
    """The API's page envelope: count, next, previous, results; ?page= and ?page_size=.

    paginator: Django's Paginator, or a callable (queryset, page size) -> one that knows its
    count some cheaper way.
    """
    form = PageForm(request.GET)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return api_error(400, f"{field}: {errors[0]}")
    number, size = form.cleaned_data["page"], form.cleaned_data["page_size"]
    pages = paginator(queryset, size)
    try:
        page = pages.page(number)
    except EmptyPage:
        return api_error(404, f"Page {number} does not exist; there are {pages.num_pages}.")

    def link(page_number):
        query = request.GET.copy()
        query["page"] = page_number
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return JsonResponse(
        {
            "count": pages.count,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": link(page.previous_page_number()) if page.has_previous() else None,
            "results": [to_json(item) for item in page.object_list],
        }
    )
