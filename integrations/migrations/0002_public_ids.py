# Opaque ids in the pages' URLs: the integer keys count every tenant's agents and collectors.

import uuid

from django.db import migrations, models

MODELS = ("siemagent", "logcollector")


def fill_public_ids(apps, schema_editor):
    """One random UUID per existing row (AddField with a callable default would give every
    row the same one). Tenants have a handful of these: row by row is fine."""
    for name in MODELS:
        model = apps.get_model("integrations", name)
        for item in model.objects.filter(public_id__isnull=True).only("pk"):
            model.objects.filter(pk=item.pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=name,
                name="public_id",
                field=models.UUIDField(editable=False, null=True),
            )
            for name in MODELS
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
        *(
            migrations.AlterField(
                model_name=name,
                name="public_id",
                field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
            )
            for name in MODELS
        ),
    ]
