"""Token requests (CONTRACT §16): where the tenant's creation policy asks for approval, a
person requests an API token, a full admin approves it (possibly narrower) or denies it, and
the requester reveals the approved token once, from their own page, within REVEAL_WINDOW."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.permissions import may_decide_token_requests
from tokens.models import NAME_MAX_LENGTH, TokenAccess, validate_token_name
from web import networks

# An approval not revealed within this long lapses: a secret waiting for weeks is a secret
# nobody is watching for.
REVEAL_WINDOW = timedelta(days=7)
REASON_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 500


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


class Shown(models.TextChoices):
    """What a request is as people read it: an approval also reads as revealed or lapsed."""

    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REVEALED = "revealed", "Revealed"
    LAPSED = "lapsed", "Lapsed"
    DENIED = "denied", "Denied"


class TokenRequestQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Tenant scope inside the query: full admins see the tenant's, others their own."""
        if not user.is_active or user.tenant_id is None:
            return self.none()
        mine = self.filter(tenant_id=user.tenant_id)
        return mine if may_decide_token_requests(user) else mine.filter(requester=user)

    def pending(self):
        return self.filter(status=RequestStatus.PENDING)

    def shown_as(self, shown, now):
        """Those that read as `shown` (a Shown value) at now: TokenRequest.shown_at in SQL."""
        if shown in (Shown.PENDING, Shown.DENIED):
            return self.filter(status=shown)
        approved = self.filter(status=RequestStatus.APPROVED)
        if shown == Shown.REVEALED:
            return approved.filter(revealed_at__isnull=False)
        waiting = approved.filter(revealed_at__isnull=True)
        if shown == Shown.LAPSED:
            return waiting.filter(decided_at__lte=now - REVEAL_WINDOW)
        return waiting.filter(decided_at__gt=now - REVEAL_WINDOW)


class TokenRequest(models.Model):
    # No foreign-key constraints in the database yet (db_constraint=False), as for
    # ServiceAccount: the previous release, serving on this schema, TRUNCATEs users, tenants
    # and tokens in its tests and does not know this table (CONTRACT §14).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: the two indexes of Meta lead with them.
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="token_requests",
        db_constraint=False,
        db_index=False,
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[validate_token_name])
    reason = models.CharField(max_length=REASON_MAX_LENGTH)
    # What was asked for; networks stored as web.networks stores them ("" anywhere).
    access = models.CharField(max_length=20, choices=TokenAccess, default=TokenAccess.READ_WRITE)
    allowed_networks = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=20, choices=RequestStatus, default=RequestStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True, default="")
    # What was granted: the request's values or narrower ones, never wider.
    granted_access = models.CharField(max_length=20, choices=TokenAccess, blank=True, default="")
    granted_networks = models.TextField(blank=True, default="")
    granted_expires_at = models.DateTimeField(null=True, blank=True)
    # The token issued when the requester revealed it; its secret is never stored.
    token = models.OneToOneField(
        "tokens.Token",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="request",
        db_constraint=False,
    )
    revealed_at = models.DateTimeField(null=True, blank=True)

    objects = TokenRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="token_request_status"),
            models.Index(fields=["requester", "-created_at"], name="token_request_requester"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RequestStatus.values), name="token_request_status_known"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_read_only(self):
        return self.access == TokenAccess.READ_ONLY

    @property
    def networks(self):
        return networks.listed(self.allowed_networks)

    @property
    def granted_networks_list(self):
        return networks.listed(self.granted_networks)

    @property
    def granted_read_only(self):
        return self.granted_access == TokenAccess.READ_ONLY

    @property
    def reveal_by(self):
        """The end of the window to reveal an approved token in; None unless approved."""
        if self.status != RequestStatus.APPROVED or self.decided_at is None:
            return None
        return self.decided_at + REVEAL_WINDOW

    def is_lapsed_at(self, now):
        return self.revealed_at is None and self.reveal_by is not None and self.reveal_by <= now

    def shown_at(self, now):
        if self.status != RequestStatus.APPROVED:
            return Shown(self.status)
        if self.revealed_at is not None:
            return Shown.REVEALED
        return Shown.LAPSED if self.is_lapsed_at(now) else Shown.APPROVED

    @property
    def shown(self):
        return self.shown_at(timezone.now())

    def may_reveal_at(self, now):
        return self.shown_at(now) == Shown.APPROVED

    @property
    def narrowed(self):
        """What the approval changed, as facts (field, asked, granted); empty when granted as
        asked. The pages and e-mails put them in words."""
        if self.status != RequestStatus.APPROVED:
            return []
        changes = []
        if self.granted_access != self.access:
            changes.append(("access", self.access, self.granted_access))
        if self.granted_networks != self.allowed_networks:
            changes.append(("networks", self.networks, self.granted_networks_list))
        if self.granted_expires_at != self.expires_at:
            changes.append(("expires_at", self.expires_at, self.granted_expires_at))
        return changes
