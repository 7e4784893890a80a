import sys
from importlib.metadata import PackageNotFoundError, version

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views import defaults

from tenants.permissions import may_manage_integrations
from web.api import API_PREFIX, api_error, api_refusal
from web.auth import Access
from web.health import database_unavailable

from . import openapi, reference

UNAVAILABLE = "The service is temporarily unavailable; try again shortly."
RETRY_AFTER_SECONDS = 30


def product_version():
    try:
        return version("api-token-portal")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "development"


def home(request):
    return redirect("tokens:list")


def settings_index(request):
    return redirect("security-extensions")


def security_extensions(request):
    if not may_manage_integrations(request.user):
        # API tokens would be its only card: go there directly.
        return redirect("tokens:list")
    return render(request, "portal/security_extensions.html")


def about(request):
    return render(request, "portal/about.html", {"version": product_version()})


def help_tokens(request):
    return render(request, "portal/help_tokens.html")


def help_api(request):
    document = openapi.openapi_document(request)
    context = {
        "description": document["info"]["description"],
        "server": document["servers"][0]["url"],
        "operations": reference.operations(document),
    }
    return render(request, "portal/help_api.html", context)


# Every path under /api/ needs a token (CONTRACT §5), one without an endpoint too: a stranger
# gets 401 there, not a 404 that tells which paths exist.
ANY_API_PATH = Access()


def _api_or_page(request, status, detail, page_handler, **kwargs):
    if request.path_info.startswith(API_PREFIX):
        return api_error(status, detail)
    return page_handler(request, **kwargs)


def not_found(request, exception=None):
    if request.path_info.startswith(API_PREFIX):
        refusal = ANY_API_PATH.refusal(request)
        if refusal is not None:
            return api_refusal(refusal)
    return _api_or_page(request, 404, "Not found.", defaults.page_not_found, exception=exception)


def bad_request(request, exception=None):
    return _api_or_page(request, 400, "Bad request.", defaults.bad_request, exception=exception)


def permission_denied(request, exception=None):
    return _api_or_page(
        request, 403, "permission denied", defaults.permission_denied, exception=exception
    )


def server_error(request):
    # Django calls this while handling the exception, so sys.exc_info() is that exception.
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    return _api_or_page(request, 500, "Internal server error.", defaults.server_error)


def service_unavailable(request):
    """503 while the database cannot be reached. The page is rendered without the request, so
    that no context processor, session or user lookup touches the database again."""
    if request.path_info.startswith(API_PREFIX):
        response = api_error(503, UNAVAILABLE)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
