from django.utils import timezone

from audit import retention
from audit.models import Action, Via
from audit.services import audit_token_event
from tenants.models import Tenant
from tokens.models import Token
from tokens.services import SWEEP_DETAIL, token_revoke
from tokens.usage import KEPT_DAYS, prune
from web.commands import PortalCommand


class Command(PortalCommand):
    help = (
        "Revoke expired tokens, and tokens unused or suspended for longer than their tenant's "
        "policy allows, "
        "and delete usage counts, client addresses and networks seen older than "
        f"{KEPT_DAYS} days, and audit events older than their tenant's retention (for cron, "
        "e.g. daily). Prints one line per revoked token and a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print, revoke nothing")

    def handle(self, *args, dry_run, **options):
        now = timezone.now()
        days, addresses, networks = prune(now, dry_run=dry_run)
        self.stdout.write(
            f"{'Would delete' if dry_run else 'Deleted'} {days} day counts, {addresses} "
            f"client addresses and {networks} networks seen older than {KEPT_DAYS} days."
        )
        events = 0
        for tenant in Tenant.objects.filter(audit_retention_days__isnull=False):
            events += retention.purge(tenant.pk, tenant.audit_retention_days, dry_run=dry_run)
        self.stdout.write(
            f"{'Would delete' if dry_run else 'Deleted'} {events} audit events older than "
            "their tenant's retention."
        )
        live = Token.objects.live().select_related("tenant", "owner__service_account")
        expired = live.filter(expires_at__lte=now)
        count_expired = self._sweep(expired, dry_run, Action.TOKEN_EXPIRED, "expired")
        count_unused = 0
        for tenant in Tenant.objects.filter(token_inactive_revoke_days__isnull=False):
            # The same query the Token policy page previews.
            unused = live.filter(tenant=tenant).unused_for(tenant.token_inactive_revoke_days, now)
            reason = f"unused for {tenant.token_inactive_revoke_days} days"
            count_unused += self._sweep(unused, dry_run, None, reason)
        count_suspended = 0
        for tenant in Tenant.objects.filter(token_suspension_revoke_days__isnull=False):
            days = tenant.token_suspension_revoke_days
            suspended = live.filter(tenant=tenant).suspended_longer_than(days, now)
            reason = f"suspended for more than {days} days"
            count_suspended += self._sweep(suspended, dry_run, None, reason)
        verb = "Would revoke" if dry_run else "Revoked"
        self.stdout.write(
            f"{verb} {count_expired + count_unused + count_suspended} tokens "
            f"({count_expired} expired, {count_unused} unused, {count_suspended} suspended)."
        )

    def _sweep(self, tokens, dry_run, event, reason):
        count = 0
        for token in tokens.iterator(chunk_size=500):
            account = token.owner.service_account_name
            owner = f"service account {account}" if account else token.owner.email
            self.stdout.write(
                f"{token.tenant.slug}: {token.get_kind_display()} “{token.name}” of {owner} "
                f"({reason})"
            )
            if dry_run:
                count += 1
                continue
            if event is not None:
                audit_token_event(
                    token,
                    event,
                    via=Via.SWEEP,
                    detail=f"Expired {token.expires_at:%Y-%m-%d %H:%M} UTC.",
                )
            count += token_revoke(
                token=token, via=Via.SWEEP, detail=SWEEP_DETAIL.format(reason=reason)
            )
        return count
