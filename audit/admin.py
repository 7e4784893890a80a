from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: events are append-only everywhere, Django admin included."""

    list_display = [
        "created_at",
        "tenant",
        "action",
        "via",
        "actor_email",
        "subject_email",
        "token_name",
        "client_ip",
    ]
    list_filter = ["action", "via", "tenant"]
    search_fields = ["actor_email", "subject_email", "token_name", "detail"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
