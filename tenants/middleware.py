from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect

from web.api import API_PREFIX, SCIM_PREFIX, TOKEN_PREFIXES, api_error

from .hosts import GENERIC, tenant_for_host


def scim_not_found(detail):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404"}
    return JsonResponse(
        {**body, "detail": detail}, status=404, content_type="application/scim+json"
    )


class TenantHostMiddleware:
    """Binds requests on a tenant's custom host to that tenant (request.tenant).

    On the generic host request.tenant stays None until the session or token names one.
    Django admin answers only on ADMIN_HOSTS.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = split_domain_port(request.get_host())[0]
        if request.path_info.startswith("/admin/") and host not in settings.ADMIN_HOSTS:
            # Not even a redirect to its sign-in form: on this host there is no admin.
            raise Http404("Django admin is not served on this host.")
        tenant = tenant_for_host(host)
        if tenant is None:
            if request.path_info.startswith(API_PREFIX):
                return api_error(404, "Unknown tenant.")
            if request.path_info.startswith(SCIM_PREFIX):
                return scim_not_found("Unknown tenant.")
            raise Http404("Unknown tenant.")
        request.tenant = None if tenant is GENERIC else tenant
        request.host_tenant = request.tenant
        return self.get_response(request)


class TenantSessionMiddleware:
    """Refuses a session of one tenant on another tenant's host; sets request.tenant."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Under the token prefixes no session counts (tokens.middleware).
        if not request.path_info.startswith(TOKEN_PREFIXES):
            user = request.user
            if user.is_authenticated:
                if request.host_tenant is not None and user.tenant_id != request.host_tenant.id:
                    request.user = AnonymousUser()
                elif user.tenant_id is None:
                    # A platform superuser has no tenant pages; Django admin is its home.
                    if not request.path_info.startswith(("/admin/", "/logout/")):
                        return redirect("admin:index")
                elif request.host_tenant is None:
                    request.tenant = user.tenant
        return self.get_response(request)
