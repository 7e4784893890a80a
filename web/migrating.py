"""Migrations run beside live traffic (CONTRACT §14): on PostgreSQL, `migrate` waits at most
MIGRATION_LOCK_TIMEOUT for a lock and runs no statement for longer than
MIGRATION_STATEMENT_TIMEOUT, then fails with PostgreSQL's "canceling statement due to lock
timeout" (or "statement timeout"). An atomic migration then leaves the schema as it was; an
`atomic = False` one (AddIndexConcurrently) may leave an invalid index (the runbook says what
to do).

Set on the migrating session only, from `pre_migrate` to `post_migrate`: requests keep the
server's defaults. Django's `migrate` has no other hook before it applies the plan, and a
signal leaves django-syzygy's `migrate` command (`--pre-deploy`) as it is.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from django.db.migrations import AddIndex


def limit(sender, using, **kwargs):
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if settings.DATABASE_POOL_MODE == "transaction":
        # A session setting does not hold across transactions there, and may reach another
        # client's session on the server connection it was made on.
        raise CommandError(
            "Migrate with DATABASE_URL straight to PostgreSQL and DATABASE_POOL_MODE=session: "
            "behind a pooler in transaction mode the lock and statement timeouts do not hold."
        )
    with connection.cursor() as cursor:
        # set_config(..., false): for the session, not only the current transaction.
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, false),"
            " set_config('statement_timeout', %s, false)",
            [
                _milliseconds(settings.MIGRATION_LOCK_TIMEOUT),
                _milliseconds(settings.MIGRATION_STATEMENT_TIMEOUT),
            ],
        )


def unlimit(sender, using, **kwargs):
    """Back to the server's defaults: the test suite goes on on the connection that built its
    database."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")
        cursor.execute("RESET statement_timeout")


def _milliseconds(seconds):
    return f"{max(1, round(seconds * 1000))}ms"


class AddIndexConcurrently(AddIndex):
    """An index on an existing table, built CONCURRENTLY on PostgreSQL so that writes go on
    while it builds (in a migration with `atomic = False`); a plain index on SQLite, where no
    other host writes meanwhile. Django's own (django.contrib.postgres) refuses other
    databases, and the suite runs on SQLite too."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.add_index(model, self.index, concurrently=True)
            else:
                schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.remove_index(model, self.index, concurrently=True)
            else:
                schema_editor.remove_index(model, self.index)
