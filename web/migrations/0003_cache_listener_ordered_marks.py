# Marks taken in commit order (web.invalidation): what a listener acknowledged of them, and
# their sequence. Expand only: the previous release's listeners insert rows without the new
# columns (their database defaults say they hear no ordered marks), and never read them.

from django.db import migrations, models

ORDER = "portal_invalidation_order"


def create_order(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {ORDER}")


def drop_order(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {ORDER}")


class Migration(migrations.Migration):
    dependencies = [("web", "0002_cache_listener_moved_from_tokens")]

    operations = [
        migrations.AddField(
            model_name="cachelistener",
            name="ordered",
            field=models.BooleanField(db_default=False),
        ),
        migrations.AddField(
            model_name="cachelistener",
            name="acked_ordered",
            field=models.BigIntegerField(db_default=0),
        ),
        migrations.RunPython(create_order, drop_order),
    ]
