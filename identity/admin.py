from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from tenants.models import User
from tenants.services import user_delete
from web.http import client_ip

from .services import user_admin_save


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users, for platform operators. Here rather than in tenants because a reactivation
    revokes the tokens the user kept (identity.services.user_reactivate), as through SCIM:
    every change goes through the services, audited and reaching every host at once."""

    ordering = ["email"]
    list_display = ["email", "tenant", "role", "is_active", "deprovisioned_at"]
    list_filter = ["tenant", "role", "is_active", "is_staff"]
    search_fields = ["email"]
    readonly_fields = ["deprovisioned_at", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Tenant", {"fields": ["tenant", "role"]}),
        ("Status", {"fields": ["is_active", "deprovisioned_at", "last_login", "date_joined"]}),
        ("Platform", {"fields": ["is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "tenant", "role", "password1", "password2"]},
        ),
    ]

    def save_model(self, request, obj, form, change):
        user_admin_save(
            user=obj, changed=form.changed_data, by=request.user, client_ip=client_ip(request)
        )

    def delete_model(self, request, obj):
        user_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            self.delete_model(request, user)
