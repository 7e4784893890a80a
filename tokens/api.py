"""The v1 JSON API (CONTRACT §5). Authentication and the write check happen in
tokens.middleware.ApiTokenMiddleware before any of these views run."""

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import EmptyPage, Paginator
from django.http import HttpResponse, JsonResponse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt

from .forms import ApiListForm
from .middleware import api_error
from .models import Token, api_token_listing
from .openapi import openapi_document


def api_view(*methods):
    """A JSON endpoint: methods outside `methods` get 405 with Allow; never cached.

    CSRF does not apply: the API accepts no session cookie, only the Authorization header.
    """

    def decorator(view):
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            allowed = [*methods, "HEAD"] if "GET" in methods else list(methods)
            if request.method not in allowed:
                return api_error(
                    405, f"Method {request.method} is not allowed here.", Allow=", ".join(allowed)
                )
            response = view(request, *args, **kwargs)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return wrapper

    return decorator


def iso(value):
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def token_json(token):
    return {
        "id": str(token.pk),
        "name": token.name,
        "status": token.status.value,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "owner": token.owner.email,
    }


@api_view("GET")
def me(request):
    token, user, tenant = request.api_token, request.user, request.tenant
    return JsonResponse(
        {
            "tenant": {"slug": tenant.slug, "name": tenant.name, "url": tenant.custom_url},
            "user": {"email": user.email, "role": user.role},
            "token": {"id": str(token.pk), "name": token.name},
        }
    )


@api_view("GET")
def token_list(request):
    form = ApiListForm(request.GET)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return api_error(400, f"{field}: {errors[0]}")
    status, number, size = (form.cleaned_data[k] for k in ("status", "page", "page_size"))
    paginator = Paginator(api_token_listing(request.user, status), size)
    try:
        page = paginator.page(number)
    except EmptyPage:
        return api_error(404, f"Page {number} does not exist; there are {paginator.num_pages}.")

    def link(page_number):
        query = {"status": status, "page": page_number}
        if size != ApiListForm.DEFAULT_PAGE_SIZE:
            query["page_size"] = size
        return request.build_absolute_uri(f"{request.path}?{urlencode(query)}")

    return JsonResponse(
        {
            "count": paginator.count,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": link(page.previous_page_number()) if page.has_previous() else None,
            "results": [token_json(token) for token in page.object_list],
        }
    )


@api_view("GET", "DELETE")
def token_detail(request, token_id):
    token = (
        Token.objects.api().visible_to(request.user).select_related("owner").filter(pk=token_id)
    ).first()
    if token is None:
        return api_error(404, "No such token.")
    if request.method == "DELETE":
        token.revoke(by=request.user)
        return HttpResponse(status=204)
    return JsonResponse(token_json(token))


@api_view("GET")
def openapi(request):
    return JsonResponse(openapi_document(request), json_dumps_params={"indent": 2})
