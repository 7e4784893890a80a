from django.contrib import admin

from web.admin import ReadOnlyModelAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
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
