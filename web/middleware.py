from django.utils.cache import patch_cache_control

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
