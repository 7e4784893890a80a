from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_rate_limit_counts"), ("web", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateLimitCount")],
            database_operations=[],
        ),
    ]
