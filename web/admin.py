from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Django admin that shows rows and lets nobody add, change or delete one: for records
    whose meaning depends on staying as written (audit events, sent notifications, tokens).
    Actions a subclass declares still run."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
