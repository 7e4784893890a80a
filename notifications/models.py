from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import Tenant
from tokens.models import Token


class Kind(models.TextChoices):
    EXPIRES_IN_7_DAYS = "expires_7d", "Token expires within a week"
    EXPIRES_IN_1_DAY = "expires_1d", "Token expires within a day"
    EXPIRED = "expired", "Token expired"
    WEEKLY_DIGEST = "weekly_digest", "Weekly token hygiene digest"
    SIGN_IN_LOCKED = "sign_in_locked", "Password sign-in locked"
    SPONSOR_MISSING = "sponsor_missing", "Service account without a sponsor"
    # CONTRACT §16: the daily sweep revokes it within a week unless it is used.
    REVOKED_FOR_DISUSE_SOON = "disuse_7d", "Token revoked for disuse within a week"
    # Token requests (approvals, CONTRACT §16): the decision to the requester, keyed by the
    # request; the daily digest of pending ones to those who decide, keyed by the day.
    REQUEST_APPROVED = "request_approved", "Token request approved"
    REQUEST_DENIED = "request_denied", "Token request denied"
    REQUESTS_PENDING = "requests_pending", "Daily digest of pending token requests"


class Delivery(models.TextChoices):
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, tried again later"
    GAVE_UP = "gave_up", "Failed, given up"


# A run that claimed an e-mail and died before recording the outcome leaves it "being sent";
# after this long another run takes it over. Far above what one message may take (a 10 s
# timeout per SMTP reply), so a live run is never overtaken.
CLAIM_LEASE = timedelta(hours=1)


def _retryable(now):
    return Q(delivery=Delivery.FAILED, next_attempt_at__lte=now) | Q(
        delivery=Delivery.SENDING, claimed_at__lt=now - CLAIM_LEASE
    )


class SentNotificationQuerySet(models.QuerySet):
    def retryable(self, now):
        """Events an attempt may take now: a failure whose back-off is over, or a claim its
        run abandoned."""
        return self.filter(_retryable(now))

    def holding(self, now):
        """Events not to be tried now: sent, being sent, given up, or waiting for a retry."""
        return self.exclude(_retryable(now))


class SentNotification(models.Model):
    """One e-mail for one event, so that no event is ever mailed twice: the row is claimed
    before the mail goes out, and says how its sending went (notifications.delivery).

    The event is the kind, its subject (a token, or the tenant for the weekly digest), the
    recipient and a period key: the token's expiry for expiry mails (a rotation moves the
    expiry, and so starts a new round of warnings), the ISO week for the digest."""

    kind = models.CharField(max_length=20, choices=Kind)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(
        Token, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    period_key = models.CharField(max_length=40)
    # Empty until the mail server accepted the mail.
    sent_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # The previous release writes a row only once its mail is sent: what it leaves out is that.
    delivery = models.CharField(
        max_length=10, choices=Delivery, default=Delivery.SENT, db_default=Delivery.SENT
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("failed attempts", default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="", db_default="")

    objects = SentNotificationQuerySet.as_manager()

    class Meta:
        constraints = [
            # Two, because a NULL token never equals another in a unique index.
            models.UniqueConstraint(
                fields=["kind", "token", "recipient", "period_key"],
                condition=Q(token__isnull=False),
                name="sent_notification_token_once",
            ),
            models.UniqueConstraint(
                fields=["kind", "tenant", "recipient", "period_key"],
                condition=Q(token__isnull=True),
                name="sent_notification_tenant_once",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.recipient_id} ({self.period_key})"


class NotificationSettings(models.Model):
    """A user's choice of the e-mails that can be turned off. Without a row, all are on.

    The last warning (a day before expiry) and the expiry notice cannot be turned off: they
    are what stands between a token's owner and a script that stops working unannounced."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    expiry_week_ahead = models.BooleanField(
        "E-mail me a week before one of my tokens expires", default=True
    )
    weekly_digest = models.BooleanField(
        "E-mail me the weekly token hygiene digest (full admins)", default=True
    )

    def __str__(self):
        return f"Notification settings of {self.user_id}"

    @classmethod
    def of(cls, user):
        """The user's settings, unsaved defaults when it never changed them."""
        try:
            return user.notification_settings
        except cls.DoesNotExist:
            return cls(user=user)
