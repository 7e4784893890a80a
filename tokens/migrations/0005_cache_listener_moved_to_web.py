from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tokens", "0004_cache_listener"), ("web", "0002_cache_listener_moved_from_tokens")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CacheListener")],
            database_operations=[],
        ),
    ]
