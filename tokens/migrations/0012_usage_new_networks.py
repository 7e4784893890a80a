from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tokens', '0011_sqlite_search_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='tokenusage',
            name='new_networks',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
    ]
