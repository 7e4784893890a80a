# The cache listeners moved from tokens to web with the invalidation board (web.invalidation),
# which the services of every floor announce to. The table keeps its name and rows, and the
# sequence tokens' migration made stays: only Django's idea of which app owns it changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("web", "0001_initial"), ("tokens", "0004_cache_listener")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CacheListener",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("host", models.CharField(max_length=100)),
                        ("pid", models.PositiveIntegerField()),
                        ("backend_pid", models.PositiveIntegerField()),
                        ("acked", models.BigIntegerField()),
                        ("lease_until", models.DateTimeField()),
                    ],
                    options={"db_table": "tokens_cachelistener"},
                ),
            ],
            database_operations=[],
        ),
    ]
