from django.contrib import admin

from web.admin import ReadOnlyModelAdmin

from .models import SentNotification


@admin.register(SentNotification)
class SentNotificationAdmin(ReadOnlyModelAdmin):
    """Read-only: which e-mail went to whom and when, for platform operators answering "did I
    get warned?", and which failed, how often, why and when it is tried again. A row is what
    keeps the same event from being mailed twice: deleting one here would send it again, so
    nothing is editable."""

    list_display = [
        "sent_at",
        "tenant",
        "kind",
        "recipient",
        "token",
        "period_key",
        "delivery",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["delivery", "kind", "tenant"]
    search_fields = ["recipient__email", "token__name", "period_key"]
    list_select_related = ["tenant", "recipient", "token"]
    date_hierarchy = "sent_at"
