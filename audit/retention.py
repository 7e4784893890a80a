"""Audit retention (CONTRACT §14): a tenant may keep its audit events for a number of days.

Old events are deleted in small batches, oldest first, each in its own short transaction, so
no writer waits on a long lock and a pass over millions of rows can stop and resume anywhere.
Before a batch goes, the tenant's AuditCounter records up to which sequence events may be
missing (kept_after), so that a SIEM cursor from before then gets a clear answer instead of
a silent gap (integrations.api.siem_events).
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from .models import AuditCounter, AuditEvent

BATCH = 10_000


def purge(tenant_id, days, *, now=None, batch=BATCH, dry_run=False):
    """Delete the tenant's events created more than `days` ago; the number deleted (or that
    would be, with dry_run)."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = AuditEvent.objects.filter(tenant_id=tenant_id, created_at__lt=cutoff)
    if dry_run:
        return old.count()
    deleted = 0
    while True:
        # By time, the order of the (tenant, created_at) index: no sort of the old rows.
        rows = list(old.order_by("created_at", "id").values_list("id", "sequence")[:batch])
        if not rows:
            return deleted
        through = max(sequence for _id, sequence in rows)
        with transaction.atomic():
            AuditCounter.objects.filter(tenant_id=tenant_id).update(
                kept_after=Greatest(F("kept_after"), through)
            )
        with transaction.atomic():
            deleted += AuditEvent.objects.filter(pk__in=[pk for pk, _ in rows]).delete()[0]


def kept_after(tenant_id):
    """The sequence up to which the tenant's events may have been deleted (0: none)."""
    counter = AuditCounter.objects.filter(tenant_id=tenant_id).values_list("kept_after")
    return (counter.first() or (0,))[0]
