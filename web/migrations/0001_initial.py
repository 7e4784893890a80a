# The rate-limit counts moved from the portal app (the top floor) to web (the bottom one).
# The table keeps its name and rows: only Django's idea of which app owns it changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("portal", "0001_rate_limit_counts")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateLimitCount",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("scope", models.CharField(max_length=40)),
                        ("digest", models.CharField(max_length=64)),
                        ("window_start", models.BigIntegerField()),
                        ("window_end", models.BigIntegerField(db_index=True)),
                        ("count", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "portal_ratelimitcount",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("scope", "digest", "window_start"),
                                name="ratelimit_one_row_per_window",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
