# Opaque event ids for tenants: the integer key is a sequence shared by every tenant.

import uuid

from django.db import migrations, models

BATCH = 1000


def fill_public_ids(apps, schema_editor):
    """One random UUID per existing event (AddField with a callable default would give every
    row the same one)."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    if schema_editor.connection.vendor == "postgresql":
        # One statement on the server instead of a round trip per row (PostgreSQL 13+).
        table = schema_editor.quote_name(AuditEvent._meta.db_table)
        schema_editor.execute(f"UPDATE {table} SET public_id = gen_random_uuid()")
        return
    pks = AuditEvent.objects.filter(public_id__isnull=True).values_list("pk", flat=True)
    batch = []
    for pk in pks.iterator(chunk_size=BATCH):
        batch.append(AuditEvent(pk=pk, public_id=uuid.uuid4()))
        if len(batch) == BATCH:
            AuditEvent.objects.bulk_update(batch, ["public_id"])
            batch = []
    AuditEvent.objects.bulk_update(batch, ["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_identity_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="auditevent",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
