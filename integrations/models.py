"""SIEM agents and log collectors: product components that authenticate with tokens of their
own kind, managed here and never on the API tokens page (CONTRACT §7)."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

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
    SYSLOG = "syslog", "Generic syslog"


class SiemAgent(Integration):
    format = models.CharField(max_length=10, choices=SiemFormat)
    host = models.CharField("destination host", max_length=253)

    token_kind = TokenKind.SIEM

    class Meta(Integration.Meta):
        # Spelt out: the one derived from the class name reads "siem agent", and
        # capitalising it (audit details, token names, Django admin) gave "Siem agent".
        verbose_name = "SIEM agent"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="siem_agent_name_unique")
        ]


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
