from django.utils.cache import patch_cache_control

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
    only a token counts: no session is read there, so request.user is not touched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(("/api/", "/scim/")):
            personal = getattr(request, "api_token", None) is not None
        else:
            personal = request.user.is_authenticated
        if personal:
            patch_cache_control(response, private=True, no_store=True)
        return response
