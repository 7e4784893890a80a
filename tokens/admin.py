from django.contrib import admin

from audit.models import Via
from tenants.permissions import may_revoke_token
from web.admin import ReadOnlyModelAdmin

from .models import Token
from .services import token_revoke


@admin.register(Token)
class TokenAdmin(ReadOnlyModelAdmin):
    """Platform operators see tokens (never a secret or digest) and may revoke them: through
    token_revoke, the one change admin makes, audited and reaching every host at once. None is
    added here (a token is issued where its plaintext can be revealed once) or deleted (revoked
    tokens stay: the audit trail refers to them)."""

    list_display = [
        "name",
        "hint",
        "kind",
        "tenant",
        "owner",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["kind", "tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "hint", "owner__email"]
    exclude = ["digest"]
    readonly_fields = [
        "tenant",
        "owner",
        "kind",
        "name",
        "hint",
        "created_at",
        "last_used_at",
        "expires_at",
        "rotated_at",
        "issued_role",
        "last_denied_at",
        "last_denied_ip",
        "revoked_at",
        "revoked_by",
    ]
    actions = ["revoke_selected"]

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request, queryset):
        revoked = sum(
            token_revoke(
                token=token,
                by=request.user,
                via=Via.PAGE,
                detail="Revoked by a platform operator in Django admin.",
            )
            for token in queryset.select_related("tenant", "owner")
            if may_revoke_token(request.user, token)
        )
        self.message_user(request, f"Revoked {revoked} tokens.")
