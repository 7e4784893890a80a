from django.db import migrations


# SQLite's search index (tokens.search_index): an FTS5 trigram table kept by triggers, filled
# from the tokens already there. PostgreSQL searches with the trigram indexes of 0009.
def create_search_index(apps, schema_editor):
    from tokens import search_index

    if search_index.used_on(schema_editor.connection):
        search_index.create(schema_editor.connection)


def drop_search_index(apps, schema_editor):
    from tokens import search_index

    if search_index.used_on(schema_editor.connection):
        search_index.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_token_network_policy"),
        ("tokens", "0010_token_networks"),
    ]

    operations = [migrations.RunPython(create_search_index, drop_search_index)]
