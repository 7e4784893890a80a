import unicodedata
import uuid

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

from web.logs import redact

# Control characters, invisible formatting (bidi overrides and isolates, zero-width
# characters) and line or paragraph separators: in a stored event they would forge a second
# line in the CSV or a terminal, or reorder what the audit page shows.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def visible_text(value):
    """value without hidden characters. Removed, not replaced, so that a token split by
    one is whole again for redact()."""
    if value.isprintable():  # the usual case, decided in C
        return value
    return "".join(char for char in value if unicodedata.category(char) not in HIDDEN_CATEGORIES)


class Action(models.TextChoices):
    TOKEN_GENERATED = "token.generated", "Token generated"
    TOKEN_ROTATED = "token.rotated", "Token rotated"
    TOKEN_REVOKED = "token.revoked", "Token revoked"
    TOKEN_EXPIRED = "token.expired", "Token expired"
    TOKEN_DENIED_DEPROVISIONED = "token.denied_deprovisioned", "Token used by deprovisioned owner"
    TOKEN_USED_AFTER_ROLE_CHANGE = "token.used_after_role_change", "Token used after role change"
    # Narrower tokens (CONTRACT §12).
    TOKEN_ACCESS_CHANGED = "token.access_changed", "Token made read only"
    TOKEN_NETWORKS_CHANGED = "token.networks_changed", "Token allowed networks changed"
    TOKEN_DENIED_NETWORK = "token.denied_network", "Token used from a network not allowed"
    # Usage insight: a token's first call from a network it was not used from lately.
    TOKEN_NEW_NETWORK = "token.new_network", "Token used from a new network"
    TOKEN_NEW_NETWORK_REVIEWED = "token.new_network_reviewed", "New network reviewed"
    # Rotation with overlap (CONTRACT §15): the replaced secret used after its successor was.
    TOKEN_PREVIOUS_SECRET_REUSED = (
        "token.previous_secret_reused",
        "Replaced token secret used after its successor",
    )
    # Governance (CONTRACT §16): refused until resumed.
    TOKEN_SUSPENDED = "token.suspended", "Token suspended"
    TOKEN_RESUMED = "token.resumed", "Token resumed"
    # Approval requests (approvals app, CONTRACT §16).
    TOKEN_REQUESTED = "token.requested", "Token requested"
    TOKEN_REQUEST_APPROVED = "token.request_approved", "Token request approved"
    TOKEN_REQUEST_DENIED = "token.request_denied", "Token request denied"
    USER_SIGNED_IN = "user.signed_in", "Signed in"
    USER_SIGN_IN_FAILED = "user.sign_in_failed", "Sign-in failed"
    USER_SIGN_IN_LOCKED = "user.sign_in_locked", "Sign-in locked"
    USER_DEPROVISIONED = "user.deprovisioned", "User deprovisioned"
    USER_ROLE_CHANGED = "user.role_changed", "Role changed"
    POLICY_CHANGED = "tenant.policy_changed", "Token policy changed"
    # Identity integration (identity app): single sign-on settings and SCIM provisioning.
    IDENTITY_SETTINGS_CHANGED = "tenant.identity_changed", "Identity settings changed"
    USER_PROVISIONED = "user.provisioned", "User provisioned"
    USER_UPDATED = "user.updated", "User updated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    # Service accounts (tenants.services, CONTRACT §15).
    SERVICE_ACCOUNT_CREATED = "service_account.created", "Service account created"
    SERVICE_ACCOUNT_SPONSOR_CHANGED = "service_account.sponsor_changed", "Sponsor changed"
    SERVICE_ACCOUNT_SPONSOR_MISSING = "service_account.sponsor_missing", "Sponsor missing"


class Via(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    COMMAND = "command", "Command"
    SWEEP = "sweep", "Sweep"
    LEAK_REPORT = "leak_report", "Leak report"
    SYSTEM = "system", "System"
    SCIM = "scim", "SCIM"
    SSO = "sso", "Single sign-on"


class AuditEventQuerySet(models.QuerySet):
    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)


class AuditEvent(models.Model):
    """One thing that happened, kept for good: rows are only ever inserted.

    Names and e-mails are copied at the time of the event, so the trail still reads right
    after a token is renamed or a user changes.
    """

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="audit_events"
    )
    # The id a tenant sees (API, links). The integer key is a sequence shared by every tenant,
    # so showing it would let one tenant count another's activity; it stays internal, as the
    # stable tie-breaker of the event order (and the position of a feed cursor).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    action = models.CharField(max_length=40, choices=Action)
    via = models.CharField(max_length=20, choices=Via, default=Via.PAGE)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    subject_email = models.CharField(max_length=254, blank=True)
    token = models.ForeignKey(
        "tokens.Token", on_delete=models.PROTECT, null=True, related_name="audit_events"
    )
    token_name = models.CharField(max_length=100, blank=True)
    client_ip = models.GenericIPAddressField(null=True)
    detail = models.CharField(max_length=300, blank=True)
    # The event's place in its tenant's feed (CONTRACT §11): 1, 2, 3, … with no gap, handed out
    # in commit order under the tenant's AuditCounter row lock (audit.services.audit_record), so
    # a reader that has seen n has already seen every event below n. Set by save().
    sequence = models.BigIntegerField(editable=False, null=False, default=None)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time_idx"),
            models.Index(
                fields=["tenant", "action", "-created_at"], name="audit_tenant_action_idx"
            ),
            models.Index(fields=["token", "-created_at"], name="audit_token_time_idx"),
        ]
        constraints = [
            # Also the (tenant, sequence) index the SIEM feed pages by.
            models.UniqueConstraint(
                fields=["tenant", "sequence"], name="audit_tenant_sequence_uniq"
            ),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        # Append-only: an existing event is never rewritten, whatever path tries it.
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        # Every free-text field is cleaned here, whoever writes the event: the trail is shown
        # on a page, exported as CSV and served by the API, and must carry no hidden
        # characters and no token secret (CONTRACT §6), whatever a caller put in a detail.
        self.actor_email = visible_text(self.actor_email)
        self.subject_email = visible_text(self.subject_email)
        self.token_name = visible_text(self.token_name)
        self.detail = redact(visible_text(self.detail))[: self._meta.get_field("detail").max_length]
        # No savepoint: an event that cannot be written fails the caller's whole transaction,
        # which is what an audited write wants, and two round trips fewer per write.
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            if self.sequence is None:
                self.sequence = AuditCounter.next_sequence(
                    self.tenant_id, using=kwargs.get("using")
                )
            super().save(*args, **kwargs)


class AuditCounter(models.Model):
    """The last sequence handed out in a tenant's audit trail. Its row is locked (select for
    update) by every transaction that audits in the tenant, until that transaction ends: so
    sequences are given in commit order and a rolled-back event gives its number back."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last = models.BigIntegerField(default=0)
    # Retention (audit.retention) has deleted events up to this sequence: a feed cursor below
    # it may have missed some and is told so, never silently skipped past them. A database
    # default, so that the previous release can still insert rows.
    kept_after = models.BigIntegerField(default=0, db_default=0)

    def __str__(self):
        return f"{self.tenant_id}: {self.last}"

    @classmethod
    def next_sequence(cls, tenant_id, using=None):
        """Lock the tenant's row (until the caller's transaction ends: the caller is inside
        transaction.atomic()) and take the next number. The UPDATE takes the same row lock as
        select_for_update() would, and returns the number, in one round trip."""
        alias = using or router.db_for_write(cls)
        connection = connections[alias]
        table = connection.ops.quote_name(cls._meta.db_table)
        last = connection.ops.quote_name("last")
        # Names of the model's own, never input.
        sql = f"UPDATE {table} SET {last} = {last} + 1 WHERE tenant_id = %s RETURNING {last}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [tenant_id])
            row = cursor.fetchone()
            if row is None:
                # The tenant's first event: make its row (a concurrent maker wins; then take).
                cls.objects.using(alias).get_or_create(tenant_id=tenant_id)
                cursor.execute(sql, [tenant_id])
                row = cursor.fetchone()
        return row[0]
