"""The e-mails themselves: plain text and HTML from templates, with links on the tenant's
custom URL (the host its users sign in on)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .events import UNUSED_DAYS
from .models import Kind

TOKEN_TEMPLATE = "notifications/email/token_expiry"
DIGEST_TEMPLATE = "notifications/email/weekly_digest"
LOCK_TEMPLATE = "notifications/email/sign_in_locked"
SPONSOR_TEMPLATE = "notifications/email/sponsor_missing"
DISUSE_TEMPLATE = "notifications/email/token_disuse"
DECISION_TEMPLATE = "notifications/email/request_decision"
REQUEST_DIGEST_TEMPLATE = "notifications/email/request_digest"
REQUEST_KINDS = (Kind.REQUEST_APPROVED, Kind.REQUEST_DENIED)


def tenant_link(tenant, path):
    return tenant.custom_url.rstrip("/") + path


def tokens_table(tenant, query):
    return tenant_link(tenant, f"{reverse('tokens:list')}?{query}")


def _subject(due):
    prefix = f"[{due.tenant.name}]"
    if due.kind == Kind.WEEKLY_DIGEST:
        return f"{prefix} Weekly API token hygiene"
    if due.kind == Kind.SIGN_IN_LOCKED:
        return f"{prefix} Password sign-in to your account was locked"
    if due.kind == Kind.SPONSOR_MISSING:
        return f"{prefix} Service account {due.counts['account']} has no sponsor"
    if due.kind in REQUEST_KINDS:
        verb = "approved" if due.kind == Kind.REQUEST_APPROVED else "denied"
        return f"{prefix} Your API token request “{due.counts['request'].name}” was {verb}"
    if due.kind == Kind.REQUESTS_PENDING:
        count = due.counts["pending"]
        waiting = "request is" if count == 1 else "requests are"
        return f"{prefix} {count} API token {waiting} waiting for a decision"
    name = due.token.name
    if due.kind == Kind.REVOKED_FOR_DISUSE_SOON:
        return (
            f"{prefix} API token “{name}” will be revoked on "
            f"{due.counts['revoked_on']:%Y-%m-%d} unless it is used"
        )
    return {
        Kind.EXPIRES_IN_7_DAYS: f"{prefix} Your API token “{name}” expires in less than a week",
        Kind.EXPIRES_IN_1_DAY: f"{prefix} Your API token “{name}” expires within a day",
        Kind.EXPIRED: f"{prefix} Your API token “{name}” has expired",
    }[due.kind]


def _context(due):
    context = {
        "kind": due.kind,
        "kinds": Kind,
        "tenant": due.tenant,
        "recipient": due.recipient,
        "portal_url": due.tenant.custom_url,
        "settings_url": tenant_link(due.tenant, reverse("notifications:settings")),
    }
    if due.kind == Kind.SIGN_IN_LOCKED:
        context.update(due.counts, limit=settings.SIGN_IN_FAILURE_LIMIT_PER_ACCOUNT)
    elif due.kind == Kind.SPONSOR_MISSING:
        context.update(
            due.counts, accounts_url=tenant_link(due.tenant, reverse("service-accounts:list"))
        )
    elif due.kind in REQUEST_KINDS or due.kind == Kind.REQUESTS_PENDING:
        context.update(
            due.counts,
            tokens_url=tenant_link(due.tenant, reverse("tokens:list")) + "#token-requests",
            requests_url=tenant_link(due.tenant, reverse("approvals:list")),
        )
    elif due.token is not None:
        context.update(due.counts)
        context["token"] = due.token
        context["token_url"] = tenant_link(
            due.tenant, reverse("tokens:detail", args=[due.token.pk])
        )
    else:
        counts = due.counts
        # Each links to the tokens table narrowed to exactly the tokens counted.
        context["lines"] = [
            (
                counts["deprovisioned"],
                "of deprovisioned owners (every call with them is refused)",
                tokens_table(due.tenant, "status=all&owner=deprovisioned"),
            ),
            (
                counts["unused"],
                f"unused for {UNUSED_DAYS} days or more",
                tokens_table(due.tenant, f"status=all&unused={UNUSED_DAYS}"),
            ),
            (
                counts["expiring"],
                "expiring within the week",
                tokens_table(due.tenant, "status=all&expiring=soon"),
            ),
            (
                counts["new_networks"],
                "used from a new network and not reviewed yet",
                tenant_link(due.tenant, reverse("usage-overview") + "#new-networks"),
            ),
        ]
        days = due.tenant.token_inactive_revoke_days
        if days:  # only where the tenant revokes tokens for disuse
            context["lines"].insert(
                2,
                (
                    counts["revoked_next_week"],
                    f"to be revoked for disuse within the week (unused for {days} days)",
                    tokens_table(due.tenant, f"status=all&unused={max(days - 7, 1)}"),
                ),
            )
    return context


def compose(due, connection=None):
    template = {
        Kind.WEEKLY_DIGEST: DIGEST_TEMPLATE,
        Kind.SIGN_IN_LOCKED: LOCK_TEMPLATE,
        Kind.SPONSOR_MISSING: SPONSOR_TEMPLATE,
        Kind.REVOKED_FOR_DISUSE_SOON: DISUSE_TEMPLATE,
        Kind.REQUEST_APPROVED: DECISION_TEMPLATE,
        Kind.REQUEST_DENIED: DECISION_TEMPLATE,
        Kind.REQUESTS_PENDING: REQUEST_DIGEST_TEMPLATE,
    }.get(due.kind, TOKEN_TEMPLATE)
    context = _context(due)
    message = EmailMultiAlternatives(
        subject=_subject(due),
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[due.recipient.email],
        connection=connection,
        # RFC 3834: out-of-office replies and the like are not sent back to a robot.
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message
