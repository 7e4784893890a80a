"""Which e-mails are due now: the events of CONTRACT §13, each once per recipient and period.

Expiry mails go to a token's owner while it is a member of the tenant; the weekly digest to
those who may see every token of their tenant (tenants.permissions). Revoked tokens get no
expiry mail, but a token revoked after it expired (by the daily sweep, say) still gets its
expiry notice: the expiry is what happened to it.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, F, Min, Q
from django.db.models.functions import Coalesce

from approvals.models import RequestStatus, TokenRequest
from audit.models import Action, AuditEvent
from tenants.models import Tenant, User
from tenants.permissions import (
    receives_hygiene_digest,
    receives_request_digest,
    receives_sponsor_alerts,
)
from tokens.models import Token

from .models import Delivery, Kind, SentNotification

WEEK_AHEAD = timedelta(days=7)
DAY_AHEAD = timedelta(days=1)
# An expiry older than this gets no notice: the first run on a database with old expired
# tokens must not mail about each of them.
EXPIRED_NOTICE_WINDOW = timedelta(days=7)
UNUSED_DAYS = 90


@dataclass
class Due:
    kind: str
    tenant: Tenant
    recipient: User
    period_key: str
    token: Token | None = None
    counts: dict = field(default_factory=dict)
    # Set when an earlier attempt failed and the next one is not due yet: not sent this run.
    deferred_until: datetime | None = None


def _held(rows, now, *key):
    """The events a row keeps from being tried now (SentNotificationQuerySet.holding): a
    set of those that are done with (sent, being sent, given up), and {event: its next
    attempt} for those waiting for a retry."""
    done, waiting = set(), {}
    rows = rows.holding(now).values_list(*key, "delivery", "next_attempt_at")
    for *event, delivery, next_attempt_at in rows:
        if delivery == Delivery.FAILED:
            waiting[tuple(event)] = next_attempt_at
        else:
            done.add(tuple(event))
    return done, waiting


def expiry_key(token):
    """The period of an expiry mail: the expiry itself, so a rotation starts a new round."""
    return token.expires_at.astimezone(UTC).isoformat(timespec="seconds")


def week_key(now):
    year, week, _ = now.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _owned_api_tokens(tenants):
    return (
        Token.objects.api()
        .filter(
            tenant__in=tenants,
            expires_at__isnull=False,
            owner__is_active=True,
            owner__tenant=F("tenant"),
            # A service account has no mailbox (its address is a placeholder).
            owner__is_service_account=False,
        )
        .annotate(issued=Coalesce(F("rotated_at"), F("created_at")))
        .select_related("tenant", "owner")
        .order_by("tenant__slug", "expires_at", "pk")
    )


def _warning(tokens, now, ahead, later):
    """Live tokens expiring within `ahead` but not within `later` (the next warning's window),
    issued before the warning was due: a token made to live five days is not warned of its
    seven-day mark."""
    return tokens.filter(
        revoked_at__isnull=True,
        expires_at__gt=now + later,
        expires_at__lte=now + ahead,
        issued__lte=F("expires_at") - ahead,
    )


def token_events(now, tenants):
    tokens = _owned_api_tokens(tenants)
    by_kind = {
        Kind.EXPIRES_IN_7_DAYS: _warning(tokens, now, WEEK_AHEAD, DAY_AHEAD)
        # Only this warning may be turned off (notifications.models.NotificationSettings).
        .exclude(owner__notification_settings__expiry_week_ahead=False),
        Kind.EXPIRES_IN_1_DAY: _warning(tokens, now, DAY_AHEAD, timedelta(0)),
        Kind.EXPIRED: tokens.filter(
            Q(revoked_at__isnull=True) | Q(revoked_at__gte=F("expires_at")),
            expires_at__lte=now,
            expires_at__gt=now - EXPIRED_NOTICE_WINDOW,
        ),
    }
    for kind, candidates in by_kind.items():
        candidates = list(candidates)
        rows = SentNotification.objects.filter(
            kind=kind, token__in=[token.pk for token in candidates]
        )
        done, waiting = _held(rows, now, "token_id", "recipient_id", "period_key")
        for token in candidates:
            key = expiry_key(token)
            event = (token.pk, token.owner_id, key)
            if event not in done:
                yield Due(
                    kind,
                    token.tenant,
                    token.owner,
                    key,
                    token=token,
                    deferred_until=waiting.get(event),
                )


def disuse_events(now, tenants):
    """One e-mail a week before the daily sweep revokes a token for disuse (the tenant's
    token_inactive_revoke_days): to its owner, or a service account's sponsor, keyed by the
    day it would go, so a token used meanwhile and unused again is warned again."""
    for tenant in tenants.filter(token_inactive_revoke_days__isnull=False):
        days = tenant.token_inactive_revoke_days
        soon = (
            Token.objects.filter(tenant=tenant)
            .unused_for(max(days - WEEK_AHEAD.days, 0), now)
            .select_related("owner__service_account__sponsor")
            .order_by("seen", "pk")
        )
        candidates = list(soon)
        rows = SentNotification.objects.filter(
            kind=Kind.REVOKED_FOR_DISUSE_SOON, token__in=[token.pk for token in candidates]
        )
        done, waiting = _held(rows, now, "token_id", "recipient_id", "period_key")
        for token in candidates:
            recipient = disuse_recipient(token)
            if recipient is None:
                continue
            revoked_on = token.seen + timedelta(days=days)
            key = revoked_on.astimezone(UTC).isoformat(timespec="seconds")
            event = (token.pk, recipient.pk, key)
            if event not in done:
                yield Due(
                    Kind.REVOKED_FOR_DISUSE_SOON,
                    tenant,
                    recipient,
                    key,
                    token=token,
                    counts={"revoked_on": revoked_on, "days": days},
                    deferred_until=waiting.get(event),
                )


def disuse_recipient(token):
    """Who hears that a token will be revoked for disuse: its owner, a person of the tenant
    still there; for a service account's token, the account's sponsor (it has no mailbox)."""
    person = token.owner
    if person.is_service_account:
        person = person.service_account.sponsor
    if not person.is_active or person.tenant_id != token.tenant_id:
        return None
    return person


def hygiene_counts(tenant, now):
    """What the weekly digest reports for one tenant's live API tokens."""
    tokens = Token.objects.api().live().filter(tenant=tenant)
    days = tenant.token_inactive_revoke_days
    return {
        "deprovisioned": tokens.with_deprovisioned_owner().count(),
        "unused": tokens.unused_for(UNUSED_DAYS, now).count(),
        # The sweep revokes these within the coming week (none without the policy).
        "revoked_next_week": tokens.unused_for(max(days - WEEK_AHEAD.days, 0), now).count()
        if days
        else 0,
        "expiring": tokens.expiring_soon(now).count(),
        # Flagged by tokens.sightings until a full admin marks them reviewed.
        "new_networks": tokens.flagging_new_networks().filter(new_network=True).count(),
    }


def digest_events(now, tenants):
    """One digest a week to each recipient of each tenant with something to report (a digest
    of zeros would teach people to ignore it)."""
    key = week_key(now)
    for tenant in tenants:
        rows = SentNotification.objects.filter(
            kind=Kind.WEEKLY_DIGEST, tenant=tenant, token=None, period_key=key
        )
        done, waiting = _held(rows, now, "recipient_id")
        recipients = [
            user
            for user in User.objects.filter(tenant=tenant, is_active=True)
            .exclude(notification_settings__weekly_digest=False)
            .exclude(pk__in=[pk for (pk,) in done])
            .order_by("email")
            if receives_hygiene_digest(user)
        ]
        if not recipients:
            continue
        counts = hygiene_counts(tenant, now)
        if not any(counts.values()):
            continue
        for user in recipients:
            yield Due(
                Kind.WEEKLY_DIGEST,
                tenant,
                user,
                key,
                counts=counts,
                deferred_until=waiting.get((user.pk,)),
            )


# A lock (identity.signin) older than this gets no notice: it has long ended.
LOCK_NOTICE_WINDOW = timedelta(days=1)


def lock_events(now, tenants):
    """One e-mail to an account's owner for each lock of its password sign-in (the audit's
    user.sign_in_locked, written once per lock), keyed by that event."""
    locks = list(
        AuditEvent.objects.filter(
            tenant__in=tenants,
            action=Action.USER_SIGN_IN_LOCKED,
            created_at__gt=now - LOCK_NOTICE_WINDOW,
            subject__is_active=True,
        ).select_related("tenant", "subject")
    )
    rows = SentNotification.objects.filter(
        kind=Kind.SIGN_IN_LOCKED, period_key__in=[str(lock.public_id) for lock in locks]
    )
    done, waiting = _held(rows, now, "recipient_id", "period_key")
    for lock in locks:
        event = (lock.subject_id, str(lock.public_id))
        if event not in done:
            yield Due(
                Kind.SIGN_IN_LOCKED,
                lock.tenant,
                lock.subject,
                event[1],
                counts={"locked_at": lock.created_at, "address": lock.client_ip},
                deferred_until=waiting.get(event),
            )


# A flag (tenants.services) older than this gets no notice: the first run after an upgrade
# must not mail about old ones.
SPONSOR_NOTICE_WINDOW = timedelta(days=7)


def sponsor_events(now, tenants):
    """One e-mail to each full admin for each service account flagged No sponsor (the
    audit's service_account.sponsor_missing, written once per flag), keyed by that event."""
    flags = list(
        AuditEvent.objects.filter(
            tenant__in=tenants,
            action=Action.SERVICE_ACCOUNT_SPONSOR_MISSING,
            created_at__gt=now - SPONSOR_NOTICE_WINDOW,
            # Still flagged: a new sponsor named meanwhile makes the mail pointless.
            subject__sponsor_missing_since__isnull=False,
        ).select_related("tenant", "subject__service_account")
    )
    if not flags:
        return
    rows = SentNotification.objects.filter(
        kind=Kind.SPONSOR_MISSING, period_key__in=[str(flag.public_id) for flag in flags]
    )
    done, waiting = _held(rows, now, "recipient_id", "period_key")
    admins = {}
    for flag in flags:
        if flag.tenant_id not in admins:
            people = User.objects.filter(tenant=flag.tenant, is_active=True).order_by("email")
            admins[flag.tenant_id] = [u for u in people if receives_sponsor_alerts(u)]
        account = flag.subject.service_account
        grace = timedelta(days=flag.tenant.service_account_sponsor_grace_days)
        for admin in admins[flag.tenant_id]:
            event = (admin.pk, str(flag.public_id))
            if event not in done:
                yield Due(
                    Kind.SPONSOR_MISSING,
                    flag.tenant,
                    admin,
                    event[1],
                    counts={
                        "account": account.name,
                        "detail": flag.detail,
                        "refused_from": flag.subject.sponsor_missing_since + grace,
                    },
                    deferred_until=waiting.get(event),
                )


# A decision older than this gets no e-mail: the first run after an upgrade must not mail
# about old ones, and an approval lapses after 7 days anyway.
REQUEST_NOTICE_WINDOW = timedelta(days=7)
DECISION_KINDS = {
    RequestStatus.APPROVED: Kind.REQUEST_APPROVED,
    RequestStatus.DENIED: Kind.REQUEST_DENIED,
}


def request_decision_events(now, tenants):
    """One e-mail to the requester when a full admin approves or denies their token request,
    keyed by the request. Never the secret: an approval says to reveal it on the tokens page
    (no e-mail once it is revealed already)."""
    decided = list(
        TokenRequest.objects.filter(
            tenant__in=tenants,
            status__in=list(DECISION_KINDS),
            decided_at__gt=now - REQUEST_NOTICE_WINDOW,
            requester__is_active=True,
            requester__tenant=F("tenant"),
        )
        .exclude(status=RequestStatus.APPROVED, revealed_at__isnull=False)
        .select_related("tenant", "requester", "decided_by")
        .order_by("decided_at", "pk")
    )
    if not decided:
        return
    rows = SentNotification.objects.filter(
        kind__in=list(DECISION_KINDS.values()),
        period_key__in=[str(request.pk) for request in decided],
    )
    done, waiting = _held(rows, now, "recipient_id", "period_key")
    for request in decided:
        event = (request.requester_id, str(request.pk))
        if event not in done:
            yield Due(
                DECISION_KINDS[request.status],
                request.tenant,
                request.requester,
                event[1],
                counts={"request": request},
                deferred_until=waiting.get(event),
            )


def day_key(now):
    return now.astimezone(UTC).date().isoformat()


def request_digest_events(now, tenants):
    """One digest a day, while requests are pending, to each full admin of the tenant: never
    one e-mail per request."""
    key = day_key(now)
    waiting_by_tenant = (
        TokenRequest.objects.filter(tenant__in=tenants, status=RequestStatus.PENDING)
        .values("tenant")
        .annotate(pending=Count("pk"), oldest=Min("created_at"))
    )
    for row in waiting_by_tenant:
        tenant = Tenant.objects.get(pk=row["tenant"])
        rows = SentNotification.objects.filter(
            kind=Kind.REQUESTS_PENDING, tenant=tenant, token=None, period_key=key
        )
        done, waiting = _held(rows, now, "recipient_id")
        people = User.objects.filter(tenant=tenant, is_active=True).order_by("email")
        for user in people.exclude(pk__in=[pk for (pk,) in done]):
            if receives_request_digest(user):
                yield Due(
                    Kind.REQUESTS_PENDING,
                    tenant,
                    user,
                    key,
                    counts={"pending": row["pending"], "oldest": row["oldest"]},
                    deferred_until=waiting.get((user.pk,)),
                )


def due_notifications(now, tenants=None):
    """Every e-mail due now, for the given tenants (a query set; default: all of them)."""
    tenants = Tenant.objects.all() if tenants is None else tenants
    yield from token_events(now, tenants)
    yield from digest_events(now, tenants)
    yield from lock_events(now, tenants)
    yield from sponsor_events(now, tenants)
    yield from disuse_events(now, tenants)
    yield from request_decision_events(now, tenants)
    yield from request_digest_events(now, tenants)
