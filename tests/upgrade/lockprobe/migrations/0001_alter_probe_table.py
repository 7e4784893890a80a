from django.db import migrations


class Migration(migrations.Migration):
    # The test creates upgrade_lock_probe and may hold a lock on it.
    operations = [
        migrations.RunSQL(
            "ALTER TABLE upgrade_lock_probe ADD COLUMN probed integer",
            "ALTER TABLE upgrade_lock_probe DROP COLUMN probed",
        )
    ]
