# A gapless per-tenant sequence for the SIEM feed (CONTRACT §11), handed out in commit order
# under a per-tenant counter row lock; existing events are numbered by (created_at, id).

from django.db import migrations, models
from django.db.models import Max

BATCH = 1000


def number_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditCounter = apps.get_model("audit", "AuditCounter")
    tenant_ids = AuditEvent.objects.values_list("tenant_id", flat=True).distinct().order_by()
    for tenant_id in list(tenant_ids):
        batch = []
        events = AuditEvent.objects.filter(tenant_id=tenant_id).order_by("created_at", "id")
        for number, pk in enumerate(events.values_list("pk", flat=True).iterator(), start=1):
            batch.append(AuditEvent(pk=pk, sequence=number))
            if len(batch) == BATCH:
                AuditEvent.objects.bulk_update(batch, ["sequence"])
                batch = []
        AuditEvent.objects.bulk_update(batch, ["sequence"])
        last = AuditEvent.objects.filter(tenant_id=tenant_id).aggregate(m=Max("sequence"))["m"]
        AuditCounter.objects.create(tenant_id=tenant_id, last=last or 0)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_auditevent_public_id"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditCounter",
            fields=[
                (
                    "tenant",
                    models.OneToOneField(
                        on_delete=models.deletion.PROTECT,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="tenants.tenant",
                    ),
                ),
                ("last", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_existing_events, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.BigIntegerField(default=None, editable=False),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("tenant", "sequence"), name="audit_tenant_sequence_uniq"
            ),
        ),
    ]
