"""Every migration newer than the previous release is expand-only (CONTRACT §14).

Deploy-time migrations (django-syzygy's pre-deploy stage: `migrate --pre-deploy`) run while
the previous release still serves, so they may only add: nullable or database-defaulted
columns, tables, indexes built CONCURRENTLY. Post-deploy migrations (`stage =
Stage.POST_DEPLOY`, or a RemoveField/DeleteModel, which syzygy stages so) run once no host
serves the previous release: they may drop, rename and tighten, but still not lock a table
for the length of an index build.

The SQL each operation emits on PostgreSQL is read by django-migration-linter's analyser, per
operation so that one column's database default does not hide another's missing one.
Migrations that were in the previous release's tree are exempt: they have run in production.
"""

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from django.db import connection as default_connection
from django.db.migrations import RemoveField
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.models import ModelOperation
from django.db.models import NOT_PROVIDED
from django_migration_linter.sql_analyser import PostgresqlAnalyser, analyse_sql_statements
from syzygy.constants import Stage
from syzygy.exceptions import AmbiguousStage
from syzygy.plan import get_migration_stage

from tests.upgrade.release import ROOT

ONE_RELEASE_LATER = (
    " in a post-deploy migration (stage = Stage.POST_DEPLOY) of the release after the one "
    "that stops using it"
)
# What the previous release could not survive, by the analyser's code.
INCOMPATIBLE = {
    "NOT_NULL": (
        "a NOT NULL column without a database default: the previous release's INSERTs leave "
        "it out and fail (a Python default= is not in the database). Give the field "
        "db_default=... or null=True; tighten it" + ONE_RELEASE_LATER + "."
    ),
    "DROP_COLUMN": (
        "drops a column the previous release still reads and writes. Make it null=True (or "
        "give it a db_default) and drop it" + ONE_RELEASE_LATER + "."
    ),
    "DROP_TABLE": (
        "drops a table the previous release still uses. Drop it" + ONE_RELEASE_LATER + "."
    ),
    "RENAME_COLUMN": (
        "renames a column: a rollout serves the previous release, which uses the old name, "
        "beside this one. Keep the column's name (db_column=), or add the new column beside "
        "the old one and drop the old one" + ONE_RELEASE_LATER + "."
    ),
    "RENAME_TABLE": (
        "renames a table: a rollout serves the previous release, which uses the old name, "
        "beside this one. Keep the table's name (Meta.db_table=), or move the rows to a new "
        "table and drop the old one" + ONE_RELEASE_LATER + "."
    ),
    "ALTER_COLUMN": (
        "changes a column's type: the previous release writes the old type, and PostgreSQL "
        "may rewrite the table under an exclusive lock. Add a new column instead."
    ),
    "ADD_UNIQUE": (
        "adds a unique constraint to a table the previous release writes: its duplicate "
        "inserts would fail. Add it" + ONE_RELEASE_LATER + ", from an index built concurrently."
    ),
}
# A rename breaks whichever release runs with the other name: refused at either stage.
ANY_STAGE = {"RENAME_COLUMN", "RENAME_TABLE"}
REQUIRED_COLUMN_DROPPED = (
    "drops a NOT NULL column without a database default: until the post-deploy step runs, "
    "this release's INSERTs leave it out and fail. Make it null=True (or give it a "
    "db_default) in a deploy-time migration of this release first."
)
# What stalls every release's requests while it runs, whatever the stage.
LOCKING = {
    "CREATE_INDEX": (
        "builds an index on an existing table without CONCURRENTLY: writes to the table wait "
        "until it is built. Use AddIndexConcurrently (django.contrib.postgres.operations) in a "
        "migration with atomic = False."
    ),
    "CREATE_INDEX_EXCLUSIVE": (
        "builds an index in the transaction that altered its table, holding the table's "
        "exclusive lock until the index is built. Build it in a migration of its own with "
        "AddIndexConcurrently."
    ),
    "DROP_INDEX": (
        "drops an index without CONCURRENTLY. Use RemoveIndexConcurrently" + ONE_RELEASE_LATER + "."
    ),
    "REINDEX": "rebuilds an index under a lock on its table. Use REINDEX CONCURRENTLY.",
}


@dataclass(frozen=True)
class Refusal:
    migration: str
    operation: str
    reason: str

    def __str__(self):
        return f"{self.migration}: {self.operation}: {self.reason}"


INSTALLED = Path(sys.prefix).resolve()


def new_migrations(release, loader):
    """The project's migrations on disk whose file the release's tree does not hold (tracked
    or not), in the order they apply."""
    in_release = release.files()
    new = set()
    for key, migration in loader.disk_migrations.items():
        path = Path(importlib.util.find_spec(type(migration).__module__).origin)
        # The project's own: a virtualenv inside the checkout (make's .venv) holds Django's.
        if not path.is_relative_to(ROOT) or path.is_relative_to(INSTALLED):
            continue
        if str(path.relative_to(ROOT)) not in in_release:
            new.add(key)
    return [key for key in _ordered(loader) if key in new]


def _ordered(loader):
    """Every migration of the graph, each after its dependencies."""
    seen = []
    for leaf in loader.graph.leaf_nodes():
        seen.extend(key for key in loader.graph.forwards_plan(leaf) if key not in seen)
    return seen


def check_new_migrations(release, connection=default_connection):
    """(the migrations checked, the refusals) for every migration newer than `release`."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    new = new_migrations(release, loader)
    released = [key for key in loader.disk_migrations if key not in new]
    known = loader.project_state(released).models
    refusals = []
    for key in new:
        before = loader.project_state(key, at_end=False)
        refusals += check(loader.disk_migrations[key], before, known, connection)
    return new, refusals


def check(migration, state, known_models, connection=default_connection):
    """Why `migration`, applied to `state`, would break a release that knows `known_models`
    or the release it belongs to (an empty list if it would not)."""
    name = f"{migration.app_label}.{migration.name}"
    try:
        stage = get_migration_stage(migration)
    except AmbiguousStage:
        reason = (
            "mixes deploy-time and post-deploy operations. Split it, or give it a stage "
            "(stage = Stage.PRE_DEPLOY or Stage.POST_DEPLOY)."
        )
        return [Refusal(name, "the migration", reason)]
    # Post-deploy, only this release serves: it may drop and tighten what it no longer uses.
    post_deploy = stage is Stage.POST_DEPLOY
    refused = ANY_STAGE if post_deploy else INCOMPATIBLE.keys()
    refusals = []
    rendered, deferred = operation_sql(migration, state, connection)
    for operation, sql, before in rendered:
        if _new_model(migration.app_label, operation, known_models):
            continue
        for code in sorted(_codes(sql) & refused):
            refusals.append(Refusal(name, operation.describe(), INCOMPATIBLE[code]))
        if post_deploy and _drops_a_required_column(migration.app_label, operation, before):
            refusals.append(Refusal(name, operation.describe(), REQUIRED_COLUMN_DROPPED))
    # The whole migration, with what Django defers to its end (the indexes and constraints of
    # new columns): an index on a table this migration creates locks nobody out.
    statements = ["BEGIN;"] if migration.atomic else []
    statements += [line for _, sql, _ in rendered for line in sql] + deferred
    whole = _codes(statements)
    if "ADD_UNIQUE" in refused and "ADD_UNIQUE" in _codes(deferred) & whole:
        refusals.append(Refusal(name, "its deferred SQL", INCOMPATIBLE["ADD_UNIQUE"]))
    for code in sorted(whole & LOCKING.keys()):
        refusals.append(Refusal(name, "its SQL", LOCKING[code]))
    return refusals


def operation_sql(migration, state, connection):
    """([(operation, its SQL lines, the state before it)], the SQL lines deferred to the
    migration's end), on this database, as `sqlmigrate` renders them (a RunPython has none)."""
    state = state.clone()
    bounds = []
    with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
        for operation in migration.operations:
            start, before = len(editor.collected_sql), state.clone()
            operation.state_forwards(migration.app_label, state)
            if operation.reduces_to_sql:  # a RunPython would run
                operation.database_forwards(migration.app_label, editor, before, state)
            bounds.append((operation, start, len(editor.collected_sql), before))
    collected = editor.collected_sql
    rendered = [(op, _lines(collected[start:end]), before) for op, start, end, before in bounds]
    return rendered, _lines(collected[bounds[-1][2] if bounds else 0 :])


def _drops_a_required_column(app_label, operation, before):
    """A RemoveField of a column without null or a database default: until it runs, this
    release's INSERTs, which leave the column out, fail."""
    if not isinstance(operation, RemoveField):
        return False
    field = before.models[app_label, operation.model_name_lower].fields[operation.name_lower]
    return not field.many_to_many and not field.null and field.db_default is NOT_PROVIDED


def _lines(statements):
    # The analyser reads sqlmigrate's output line by line.
    return "\n".join(statements).splitlines()


def _codes(sql):
    errors, _ignored, warnings = analyse_sql_statements(PostgresqlAnalyser, sql)
    return {issue.code for issue in errors + warnings}


def _new_model(app_label, operation, known_models):
    """An operation on a model the previous release does not have: nothing of it can break."""
    if isinstance(operation, ModelOperation):
        model = operation.name_lower
    else:
        model = getattr(operation, "model_name_lower", None)
    return model is not None and (app_label, model) not in known_models
