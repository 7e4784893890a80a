from importlib.metadata import PackageNotFoundError, version

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views import defaults


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
    return render(request, "portal/security_extensions.html")


def about(request):
    return render(request, "portal/about.html", {"version": product_version()})


def _api_or_page(request, status, detail, page_handler, **kwargs):
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=status)
    return page_handler(request, **kwargs)


def not_found(request, exception=None):
    return _api_or_page(request, 404, "Not found.", defaults.page_not_found, exception=exception)


def bad_request(request, exception=None):
    return _api_or_page(request, 400, "Bad request.", defaults.bad_request, exception=exception)


def permission_denied(request, exception=None):
    return _api_or_page(
        request, 403, "permission denied", defaults.permission_denied, exception=exception
    )


def server_error(request):
    return _api_or_page(request, 500, "Internal server error.", defaults.server_error)
