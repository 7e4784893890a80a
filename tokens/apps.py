from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens"

    def ready(self):
        post_migrate.connect(restore_search_triggers, sender=self)


def restore_search_triggers(using, **kwargs):
    """Django rebuilds a SQLite table for most field changes and drops its triggers on the
    way: each migrate puts back those of the search index (tokens.search_index)."""
    from . import search_index

    connection = connections[using]
    if search_index.used_on(connection):
        search_index.ensure_triggers(connection)
