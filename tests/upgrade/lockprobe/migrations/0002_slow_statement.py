from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lockprobe", "0001_alter_probe_table")]

    operations = [migrations.RunSQL("SELECT pg_sleep(60)", migrations.RunSQL.noop)]
