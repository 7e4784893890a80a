import sys
from importlib.metadata import PackageNotFoundError, version

from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from tenants.permissions import is_full_admin
from web.api import API_PREFIX, SCIM_PREFIX, api_error, api_refusal
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
    # For every role, even those for whom it holds API tokens alone: the menu and every
    # breadcrumb name it, and a redirect to the tokens page made its breadcrumb a loop.
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


def _is_api(request):
    return request.path_info.startswith((API_PREFIX, SCIM_PREFIX))


def _api_or_page(request, status, detail, page_handler, **kwargs):
    if _is_api(request):
        return api_error(status, detail)
    return page_handler(request, status=status, **kwargs)


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    500: "Something went wrong",
}


def _for_full_admins(request):
    tenant = getattr(request, "tenant", None)
    return f"full admins of {tenant.name}" if tenant else "full admins"


def _explanation(request, status, user):
    """One helpful sentence for the error page. It names only the user's own tenant and
    never says whether an object exists: a page refused by role answers 404 like a missing one
    (web.access.allowed)."""
    signed_in = user is not None and user.is_authenticated
    if status == 404:
        if signed_in and not is_full_admin(user):
            return f"This page does not exist, or is for {_for_full_admins(request)}."
        return "This page does not exist, or what it showed was removed."
    if status == 403:
        if signed_in and not is_full_admin(user):
            return f"This page is for {_for_full_admins(request)}."
        if not signed_in:
            return "Sign in first, then try again."
        return "You are not allowed to do this."
    if status == 400:
        return "The request could not be understood. Check the address or go back and retry."
    return (
        "The portal failed to answer this request. It has been logged; try again in a "
        "moment, and if it keeps failing tell your administrator."
    )


def _error_context(request, status, user):
    return {
        "status": status,
        "title": ERROR_TITLES[status],
        "explanation": _explanation(request, status, user),
        "signed_in": user is not None and user.is_authenticated,
    }


def _error_page(request, status, exception=None):
    user = getattr(request, "user", None)
    return render(request, "error.html", _error_context(request, status, user), status=status)


def not_found(request, exception=None):
    if request.path_info.startswith(API_PREFIX):
        refusal = ANY_API_PATH.refusal(request)
        if refusal is not None:
            return api_refusal(refusal)
    return _api_or_page(request, 404, "Not found.", _error_page, exception=exception)


def bad_request(request, exception=None):
    return _api_or_page(request, 400, "Bad request.", _error_page, exception=exception)


def permission_denied(request, exception=None):
    return _api_or_page(request, 403, "permission denied", _error_page, exception=exception)


def csrf_failure(request, reason=""):
    """A form sent without a valid CSRF token (an old tab, a session that changed): the
    portal's 403 page, saying what to do."""
    if _is_api(request):
        return api_error(403, "permission denied")
    user = getattr(request, "user", None)
    context = _error_context(request, 403, user)
    context["title"] = "Form expired"
    context["explanation"] = (
        "This form was sent from a page that is out of date, for example after signing in "
        "again in another tab. Go back, reload the page and try again."
    )
    return render(request, "error.html", context, status=403)


def server_error(request):
    # Django calls this while handling the exception, so sys.exc_info() is that exception.
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    if _is_api(request):
        return api_error(500, "Internal server error.")
    return HttpResponse(_render_500(request), status=500)


def _render_500(request):
    """The portal's layout without the request: no context processor, session or user
    lookup may touch the database (it may be what failed). The user is shown only when this
    request had already loaded it (AuthenticationMiddleware caches it on the request); the
    tenant was resolved before any view ran."""
    user = getattr(request, "_cached_user", None)
    context = _error_context(request, 500, user)
    context["tenant"] = getattr(request, "tenant", None)
    if user is not None and user.is_authenticated:
        context["user"] = user
        context["csrf_token"] = get_token(request)  # for the Sign out form; reads a cookie
    return render_to_string("error.html", context)


def service_unavailable(request):
    """503 while the database cannot be reached. The page is rendered without the request, so
    that no context processor, session or user lookup touches the database again."""
    if _is_api(request):
        response = api_error(503, UNAVAILABLE)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
