from importlib.metadata import PackageNotFoundError, version

from django.shortcuts import redirect, render


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
