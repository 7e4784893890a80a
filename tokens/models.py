import unicodedata
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from tenants.models import Tenant

ACTIVE_WINDOW = timedelta(days=7)
NAME_MAX_LENGTH = 100


def validate_token_name(value):
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise ValidationError("Token names cannot contain control or invisible characters.")


class TokenKind(models.TextChoices):
    API = "api", "API token"
    SIEM = "siem", "SIEM agent token"
    LOG_COLLECTOR = "log_collector", "Log collector token"


class TokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    GENERATED = "generated", "Generated"

    @classmethod
    def condition(cls, status, now):
        """The SQL definition of a status; Token.status_at is its Python twin."""
        since = now - ACTIVE_WINDOW
        return {
            cls.GENERATED: Q(last_used_at__isnull=True),
            cls.ACTIVE: Q(last_used_at__gte=since),
            cls.INACTIVE: Q(last_used_at__lt=since),
        }[cls(status)]


class TokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)

    def api(self):
        return self.filter(kind=TokenKind.API)

    def visible_to(self, user):
        """Live tokens the user may see and revoke: the whole tenant for full admins, else
        only its own. Outsiders get nothing, so views answer them with 404."""
        tokens = self.live().filter(tenant_id=user.tenant_id)
        if not user.sees_all_tokens:
            tokens = tokens.filter(owner=user)
        return tokens

    def with_status(self, status, now=None):
        return self.filter(TokenStatus.condition(status, now or timezone.now()))

    def status_counts(self, now=None):
        now = now or timezone.now()
        counts = self.aggregate(
            all=Count("pk"),
            **{s.value: Count("pk", filter=TokenStatus.condition(s, now)) for s in TokenStatus},
        )
        return counts


class Token(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="tokens")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tokens"
    )
    kind = models.CharField(max_length=20, choices=TokenKind, default=TokenKind.API)
    name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[validate_token_name])
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The tokens page and API: a tenant's (or an owner's) live tokens, newest first,
            # optionally filtered by last use. Partial, so revoked history costs them nothing.
            models.Index(
                fields=["tenant", "kind", "-created_at"],
                condition=Q(revoked_at__isnull=True),
                name="token_tenant_live_idx",
            ),
            models.Index(
                fields=["tenant", "kind", "last_used_at"],
                condition=Q(revoked_at__isnull=True),
                name="token_tenant_last_used_idx",
            ),
            models.Index(
                fields=["owner", "kind", "-created_at"],
                condition=Q(revoked_at__isnull=True),
                name="token_owner_live_idx",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def status_at(self, now):
        if self.last_used_at is None:
            return TokenStatus.GENERATED
        if self.last_used_at >= now - ACTIVE_WINDOW:
            return TokenStatus.ACTIVE
        return TokenStatus.INACTIVE

    @property
    def status(self):
        return self.status_at(timezone.now())

    def revoke(self, by=None):
        """Revoke once; the row stays for the audit trail. Returns False if already revoked."""
        now = timezone.now()
        # A conditional UPDATE, so two concurrent revocations cannot both win.
        updated = Token.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=by
        )
        if updated:
            self.revoked_at, self.revoked_by = now, by
        return bool(updated)


STATUS_FILTER_VALUES = ("all", *TokenStatus.values)


def api_token_listing(user, status="all", now=None):
    """The API tokens a user sees on the page and in the API, newest first, one query."""
    tokens = Token.objects.api().visible_to(user).select_related("owner")
    if status != "all":
        tokens = tokens.with_status(status, now)
    return tokens
