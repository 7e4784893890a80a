from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme

from .api import TOKEN_PREFIXES

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set. The portal has no inline script or
    style, so the policy needs no 'unsafe-inline'. Django admin keeps its own markup."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path_info.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class PrivateResponsesMiddleware:
    """Cache-Control: private, no-store on every answer to a signed-in user (pages, CSV
    exports, redirects, errors) and to an authenticated API token: they carry tenant data
    (token names, hints, owners, addresses) that no shared proxy or browser cache may keep.
    Directives a view set stay; these are added to them.

    After AuthenticationMiddleware, which gives the request its user. Under /api/ and /scim/
    only a token counts, once an endpoint accepted it (web.auth); a refusal carries no data.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(TOKEN_PREFIXES):
            # Not set when a middleware above answered first (an unknown tenant's host).
            personal = getattr(request, "auth_accepted", False)
        else:
            personal = request.user.is_authenticated
        if personal:
            patch_cache_control(response, private=True, no_store=True)
        return response


# What a form sent after its session ended did not do, unless its view declares it
# (web.access.undone_when_signed_out).
NOTHING_DONE = "nothing you sent was saved"


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware (every page needs a signed-in user unless its view is
    login_not_required), which also says why when a form arrives after its session ended
    (expired, signed out in another tab, deprovisioned): the sign-in page says that what the
    form asked was not done, and signing in leads back to the page the form was on. The form's
    request never reaches its view, and nothing of it is kept but the page's own address."""

    def handle_no_permission(self, request, view_func):
        if request.method != "POST":
            return super().handle_no_permission(request, view_func)
        undone = getattr(view_func, "undone_when_signed_out", NOTHING_DONE)
        messages.warning(request, f"Your session expired, so {undone}. Sign in and try again.")
        return redirect_to_login(
            _form_page(request),
            resolve_url(self.get_login_url(view_func)),
            self.get_redirect_field_name(view_func),
        )


def _form_page(request):
    """The page a form was sent from (its Referer's path and query, on this host only), else
    the page signing in leads to: a POST's own URL may answer nothing to a GET."""
    referer = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        login = resolve_url(settings.LOGIN_URL)
        if parts.path.startswith("/") and not parts.path.startswith(("//", login)):
            return f"{parts.path}?{parts.query}" if parts.query else parts.path
    return resolve_url(settings.LOGIN_REDIRECT_URL)
