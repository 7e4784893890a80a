from django.contrib import admin

from web.admin import ReadOnlyModelAdmin

from .models import TokenRequest


@admin.register(TokenRequest)
class TokenRequestAdmin(ReadOnlyModelAdmin):
    """Read-only, for platform operators: requests are decided by the tenant's full admins on
    its pages (audited there), never here."""

    list_display = ["created_at", "tenant", "name", "requester", "status", "decided_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "requester__email"]
    list_select_related = ["tenant", "requester"]
    date_hierarchy = "created_at"
