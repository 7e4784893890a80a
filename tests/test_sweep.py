import io
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from tests.factories import TokenFactory
from tokens.models import Token, TokenKind


def sweep(*args):
    out = io.StringIO()
    call_command("sweeptokens", *args, stdout=out)
    return out.getvalue()


def test_expired_tokens_are_revoked_and_audited(operator):
    gone = TokenFactory(owner=operator, name="gone", expires_at=timezone.now() - timedelta(hours=1))
    kept = TokenFactory(owner=operator, name="kept", expires_at=timezone.now() + timedelta(days=1))
    out = sweep()
    assert "“gone” of operator@contoso.test (expired)" in out
    assert out.endswith("Revoked 1 tokens (1 expired, 0 unused, 0 suspended).\n")
    assert Token.objects.get(pk=gone.pk).revoked_at is not None
    assert Token.objects.get(pk=kept.pk).revoked_at is None
    assert set(AuditEvent.objects.values_list("action", "via")) == {
        ("token.expired", "sweep"),
        ("token.revoked", "sweep"),
    }


def test_unused_tokens_are_revoked_only_where_the_tenant_asks(operator, other_tenant_admin, tenant):
    tenant.token_inactive_revoke_days = 30
    tenant.save()
    old = timezone.now() - timedelta(days=31)
    stale = TokenFactory(owner=operator, last_used_at=old)
    never_used = TokenFactory(owner=operator, created_at=old)
    fresh = TokenFactory(owner=operator, last_used_at=timezone.now())
    elsewhere = TokenFactory(owner=other_tenant_admin, last_used_at=old)
    siem = TokenFactory(owner=operator, kind=TokenKind.SIEM, last_used_at=old)
    assert "(0 expired, 3 unused, 0 suspended)" in sweep()
    revoked = set(Token.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True))
    assert revoked == {stale.pk, never_used.pk, siem.pk}
    assert fresh.pk not in revoked and elsewhere.pk not in revoked


def test_a_token_revoked_for_disuse_says_so_on_its_page_and_in_the_siem_feed(
    operator, tenant, signed_in, full_admin
):
    from audit.cef import cef_line

    tenant.token_inactive_revoke_days = 90
    tenant.save()
    stale = TokenFactory(owner=operator, name="stale", last_used_at=timezone.now() - timedelta(91))
    sweep()
    html = (
        signed_in(full_admin)
        .get(f"/settings/security-extensions/api-tokens/{stale.pk}/")
        .content.decode()
    )
    assert "by the daily sweep: unused for 90 days" in html
    [event] = AuditEvent.objects.filter(token=stale, action="token.revoked")
    assert event.via == "sweep" and event.detail == "Revoked by the sweep: unused for 90 days."
    assert "unused for 90 days" in cef_line(event, token_hint=stale.hint)


def test_tokens_suspended_too_long_are_revoked_only_where_the_tenant_asks(
    operator, other_tenant_admin, tenant, full_admin
):
    from tokens.services import token_suspend

    now = timezone.now()
    old, recent = TokenFactory(owner=operator, name="old"), TokenFactory(owner=operator)
    elsewhere = TokenFactory(owner=other_tenant_admin)
    for token in (old, recent, elsewhere):
        token_suspend(token=token, by=full_admin)
    Token.objects.filter(pk__in=[old.pk, elsewhere.pk]).update(suspended_at=now - timedelta(31))
    assert "(0 expired, 0 unused, 0 suspended)" in sweep()  # no tenant asks yet
    tenant.token_suspension_revoke_days = 30
    tenant.save()
    out = sweep()
    assert "“old” of operator@contoso.test (suspended for more than 30 days)" in out
    assert "(0 expired, 0 unused, 1 suspended)" in out
    revoked = set(Token.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True))
    assert revoked == {old.pk}
    [event] = AuditEvent.objects.filter(token=old, action="token.revoked")
    assert event.detail == "Revoked by the sweep: suspended for more than 30 days."


def test_a_dry_run_revokes_nothing(operator):
    TokenFactory(owner=operator, expires_at=timezone.now() - timedelta(hours=1))
    assert "Would revoke 1 tokens" in sweep("--dry-run")
    assert not Token.objects.filter(revoked_at__isnull=False).exists()
    assert not AuditEvent.objects.exists()


def test_sweeping_twice_revokes_once(operator):
    TokenFactory(owner=operator, expires_at=timezone.now() - timedelta(hours=1))
    sweep()
    assert "Revoked 0 tokens" in sweep()


def test_usage_older_than_90_days_is_pruned_and_newer_kept(operator):
    from tokens.models import TokenClientAddress, TokenNetwork, TokenUsage

    token = TokenFactory(owner=operator)
    now = timezone.now()
    today = now.date()
    for age in (0, 90, 91, 400):
        TokenUsage.objects.create(token=token, day=today - timedelta(days=age), requests=1)
    for number, age in enumerate((1, 89, 91)):
        TokenClientAddress.objects.create(
            token=token, address=f"192.0.2.{number}", last_seen_at=now - timedelta(days=age)
        )

    old = now - timedelta(days=91)
    # Of the networks not seen for 90 days, only a reviewed or never flagged one goes: the
    # baseline stays (else the next network would become the baseline unflagged), and so
    # does a flag nobody has reviewed.
    for network, kept in [
        ("198.51.100.0/24", dict(baseline=True)),
        ("203.0.113.0/24", dict(flagged_at=old)),
        ("203.0.114.0/24", dict(flagged_at=old, reviewed_at=old)),
        ("203.0.115.0/24", {}),
    ]:
        TokenNetwork.objects.create(
            token=token, network=network, first_seen_at=old, last_seen_at=old, **kept
        )
    TokenNetwork.objects.create(
        token=token,
        network="203.0.116.0/24",
        first_seen_at=now,
        last_seen_at=now - timedelta(days=89),
    )

    assert (
        "Would delete 2 day counts, 1 client addresses and 2 networks seen older than 90 days."
        in sweep("--dry-run")
    )
    assert TokenUsage.objects.count() == 4
    assert TokenNetwork.objects.count() == 5

    assert (
        "Deleted 2 day counts, 1 client addresses and 2 networks seen older than 90 days."
        in sweep()
    )
    assert sorted(TokenNetwork.objects.values_list("network", flat=True)) == [
        "198.51.100.0/24",
        "203.0.113.0/24",
        "203.0.116.0/24",
    ]
    kept = sorted((today - day).days for day in TokenUsage.objects.values_list("day", flat=True))
    assert kept == [0, 90]
    assert sorted(TokenClientAddress.objects.values_list("address", flat=True)) == [
        "192.0.2.0",
        "192.0.2.1",
    ]
