from django.contrib import admin

from web.http import client_ip

from .models import Tenant
from .services import tenant_delete, tenant_save


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Saved and deleted through tenants.services, like every other write: a policy change is
    audited, and every host forgets what it caches about the tenant before the page returns."""

    list_display = ["slug", "name", "region", "created_at"]
    search_fields = ["slug", "name"]
    list_filter = ["region"]

    def save_model(self, request, obj, form, change):
        tenant_save(
            tenant=obj, changed=form.changed_data, by=request.user, client_ip=client_ip(request)
        )

    def delete_model(self, request, obj):
        tenant_delete(tenant=obj)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            self.delete_model(request, tenant)
