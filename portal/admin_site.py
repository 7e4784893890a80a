"""Django admin for platform operators (CONTRACT: users without a tenant).

Only staff without a tenant get in (tenants.permissions.may_use_admin), through a sign-in form
with the portal's failure limits and records (identity.signin.AdminLoginView). Which hosts serve
admin at all is ADMIN_HOSTS (tenants.middleware.TenantHostMiddleware)."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from identity.signin import AdminLoginView
from tenants.permissions import may_use_admin


class PortalAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return may_use_admin(request.user)

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        request.current_app = self.name
        return AdminLoginView.as_view(admin_site=self, extra_context=extra_context)(request)
