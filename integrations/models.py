"""SIEM agents and log collectors: product components that authenticate with tokens of their
own kind, managed here and never on the API tokens page (CONTRACT §7)."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from audit.models import AuditCounter, AuditEvent
from tenants.models import Tenant
from tokens.models import NAME_MAX_LENGTH, Token, TokenKind, validate_token_name


class Integration(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    # The id in URLs and forms: the integer key counts every tenant's agents, so it is
    # never shown (one tenant would see another's activity).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[validate_token_name])
    token = models.OneToOneField(Token, on_delete=models.PROTECT, related_name="+")
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Who set it up, shown on its page; the integration and its token are the tenant's.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    token_kind: TokenKind

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class SiemFormat(models.TextChoices):
    CEF = "cef", "CEF"
    JSON = "json", "JSON lines"


# The agent beats every 30 seconds: missing four beats in a row is a lost connection, not a
# slow network. Events waiting longer than a minute mean the agent does not keep up.
DISCONNECTED_AFTER = timedelta(seconds=120)
BEHIND_AFTER_SECONDS = 60


class SiemHealth(models.TextChoices):
    RUNNING = "running", "Running"
    BEHIND = "behind", "Behind"
    DISCONNECTED = "disconnected", "Disconnected"
    NEVER_CONNECTED = "never_connected", "Never connected"


class SiemAgentQuerySet(models.QuerySet):
    def with_health(self):
        """The agents with what their health is computed from, in the same query whatever
        their number: feed_last_sequence (the tenant's last audit event), lag_events (how
        many of the tenant's events the agent has not delivered) and oldest_undelivered_at
        (when the first of those was recorded)."""
        feed_last = AuditCounter.objects.filter(tenant=OuterRef("tenant")).values("last")
        oldest = AuditEvent.objects.filter(
            tenant=OuterRef("tenant"), sequence=OuterRef("delivered_sequence") + 1
        ).order_by()
        return self.annotate(
            feed_last_sequence=Coalesce(Subquery(feed_last), Value(0)),
            oldest_undelivered_at=Subquery(oldest.values("created_at")[:1]),
        ).annotate(lag_events=Greatest(F("feed_last_sequence") - F("delivered_sequence"), Value(0)))


class SiemAgent(Integration):
    format = models.CharField(max_length=10, choices=SiemFormat)
    host = models.CharField("destination host", max_length=253)
    tls = models.BooleanField("Send over TLS", default=False)
    # Reported by the agent on its heartbeat (integrations.api.siem_heartbeat).
    agent_version = models.CharField(max_length=40, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True)
    # The AuditEvent.sequence of the last event the agent says its SIEM received. It may go
    # down: an agent restored from an older state file sends those events again.
    delivered_sequence = models.BigIntegerField(default=0)
    # When delivered_sequence last moved forward.
    last_delivered_at = models.DateTimeField(null=True)

    token_kind = TokenKind.SIEM

    objects = SiemAgentQuerySet.as_manager()

    class Meta(Integration.Meta):
        # Spelt out: the one derived from the class name reads "siem agent", and
        # capitalising it (audit details, token names, Django admin) gave "Siem agent".
        verbose_name = "SIEM agent"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="siem_agent_name_unique")
        ]

    def record_heartbeat(self, *, version=None, delivered_sequence=None):
        """Store a heartbeat in one UPDATE: two beats at once cannot undo each other's
        fields, and "moved forward" compares with the row as it is, not as it was read."""
        now = timezone.now()
        changes = {"last_heartbeat_at": now}
        if version is not None:
            changes["agent_version"] = version
        if delivered_sequence is not None:
            changes["delivered_sequence"] = delivered_sequence
            changes["last_delivered_at"] = Case(
                When(delivered_sequence__lt=delivered_sequence, then=Value(now)),
                default=F("last_delivered_at"),
            )
        type(self).objects.filter(pk=self.pk).update(**changes)

    # Health: on agents from SiemAgent.objects.with_health().

    @property
    def lag_seconds(self):
        """How long the oldest event the SIEM has not received has waited; 0 when none."""
        if not self.lag_events or self.oldest_undelivered_at is None:
            return 0
        return max(0, int((timezone.now() - self.oldest_undelivered_at).total_seconds()))

    @property
    def health(self):
        if self.last_heartbeat_at is None:
            return SiemHealth.NEVER_CONNECTED
        if timezone.now() - self.last_heartbeat_at > DISCONNECTED_AFTER:
            return SiemHealth.DISCONNECTED
        if self.lag_seconds > BEHIND_AFTER_SECONDS:
            return SiemHealth.BEHIND
        return SiemHealth.RUNNING


class DataSource(models.TextChoices):
    FIREWALL = "firewall", "Firewall"
    PROXY = "proxy", "Web proxy"
    DNS = "dns", "DNS"
    EMAIL_GATEWAY = "email_gateway", "E-mail gateway"
    ENDPOINT = "endpoint", "Endpoint protection"
    CLOUD_AUDIT = "cloud_audit", "Cloud audit trail"


class Receiver(models.TextChoices):
    FTP = "ftp", "FTP"
    SYSLOG = "syslog", "Syslog"


class LogCollector(Integration):
    source_type = models.CharField("data source", max_length=20, choices=DataSource)
    receiver = models.CharField(max_length=10, choices=Receiver)

    token_kind = TokenKind.LOG_COLLECTOR

    class Meta(Integration.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="log_collector_name_unique")
        ]
