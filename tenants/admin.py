from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "region", "created_at"]
    search_fields = ["slug", "name"]
    list_filter = ["region"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
