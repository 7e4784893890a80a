"""CONTRACT §14: the migrations newer than the previous release keep it serving, and the check
that says so refuses what would not, in one clear line each."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, migrations, models
from django.db.migrations.loader import MigrationLoader
from syzygy import Stage

from testbed.throwaway import suite_engine
from tests.upgrade.expand_only import check, check_new_migrations, new_migrations
from tests.upgrade.release import Release, ReleaseError, previous_release

on_postgresql = pytest.mark.skipif(
    suite_engine() != "postgresql", reason="the SQL linted is PostgreSQL's: PostgreSQL suite"
)


@pytest.fixture
def rendering(db):
    """A connection to the test database outside the test's transaction, as `sqlmigrate`
    has: AddIndexConcurrently refuses to render inside one. SQL is collected, never run."""
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    yield connection
    connection.close()


@on_postgresql
def test_every_migration_since_the_previous_release_is_expand_only(rendering):
    _checked, refusals = check_new_migrations(previous_release(), rendering)
    assert [str(refusal) for refusal in refusals] == []


def test_the_previous_release_is_the_newest_version_in_the_changelog(tmp_path):
    assert previous_release() == Release("0.1.0", "52316840c65a916e228c137bb7c2ded292f5f632")
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(
        "# Changelog\n\n## Unreleased\n\ncommit: " + "a" * 40 + "\n\n## 0.2.0\n\n"
        "commit: " + "b" * 40 + "\n\n## 0.1.0\n\ncommit: " + "c" * 40 + "\n"
    )
    assert previous_release(changelog) == Release("0.2.0", "b" * 40)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Changelog\n\n## Unreleased\n", "CHANGELOG.md names no release (a `## X.Y.Z` heading)."),
        (
            "## 0.2.0\n\ncommit: 5231684\n\n## 0.1.0\n\ncommit: " + "c" * 40 + "\n",
            "CHANGELOG.md: release 0.2.0 has no `commit: <40 hex digits>` line.",
        ),
    ],
)
def test_a_changelog_without_a_usable_release_is_one_clear_line(tmp_path, text, message):
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(text)
    with pytest.raises(ReleaseError) as refused:
        previous_release(changelog)
    assert str(refused.value) == message


def test_a_release_commit_missing_from_the_clone_is_one_clear_line():
    with pytest.raises(ReleaseError) as refused:
        Release("9.9.9", "0" * 40).files()
    assert str(refused.value) == (
        f"Commit {'0' * 40} of release 9.9.9 (CHANGELOG.md) is not in this clone: fetch the "
        "history (git fetch --unshallow origin main)."
    )


def test_only_migrations_newer_than_the_release_are_checked():
    """Files in the release's tree are exempt, including ones edited since; any other file
    counts, whether git tracks it yet or not (the release's tree is read, not a diff)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    release = previous_release()
    in_release, new = release.files(), new_migrations(release, loader)
    assert not any(f"{app}/migrations/{name}.py" in in_release for app, name in new)
    assert all(app not in ("auth", "contenttypes", "admin", "sessions") for app, _ in new)
    assert len(new) == len(set(new))

    class Without(Release):
        def files(self):
            return in_release - {"audit/migrations/0001_initial.py"}

    lacking = new_migrations(Without(release.version, release.commit), loader)
    assert sorted(lacking) == sorted([("audit", "0001_initial"), *new])


# The check itself, on migrations that would break the previous release (audit_auditevent is
# the table every audited write of 908228a failed on, after 5231684's migrations).


def audit_migration(*operations, stage=None, atomic=True):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    head = max(name for app, name in loader.disk_migrations if app == "audit")
    attributes = {"dependencies": [("audit", head)], "operations": list(operations)}
    attributes |= {"atomic": atomic} | ({"stage": stage} if stage else {})
    migration = type("Migration", (migrations.Migration,), attributes)("0999_probe", "audit")
    state = loader.project_state(loader.graph.leaf_nodes())
    return migration, state


def refusals(connection, *operations, **options):
    migration, state = audit_migration(*operations, **options)
    return [str(refusal) for refusal in check(migration, state, state.models, connection)]


def add(name, field):
    return migrations.AddField("auditevent", name, field)


@on_postgresql
def test_a_not_null_column_with_only_a_python_default_is_refused(rendering):
    assert refusals(rendering, add("extra", models.CharField(max_length=20, default="x"))) == [
        "audit.0999_probe: Add field extra to auditevent: a NOT NULL column without a database "
        "default: the previous release's INSERTs leave it out and fail (a Python default= is "
        "not in the database). Give the field db_default=... or null=True; tighten it in a "
        "post-deploy migration (stage = Stage.POST_DEPLOY) of the release after the one that "
        "stops using it."
    ]


@on_postgresql
def test_a_not_null_column_is_refused_even_beside_one_with_a_database_default(rendering):
    found = refusals(
        rendering,
        add("kept", models.IntegerField(db_default=0)),
        add("extra", models.UUIDField(default=None)),
    )
    assert len(found) == 1
    assert found[0].startswith("audit.0999_probe: Add field extra to auditevent: a NOT NULL")


@on_postgresql
def test_tightening_a_column_to_not_null_is_refused_before_deploy_but_not_after(rendering):
    tighten = migrations.AlterField("auditevent", "client_ip", models.GenericIPAddressField())
    assert refusals(rendering, tighten)[0].startswith(
        "audit.0999_probe: Alter field client_ip on auditevent: a NOT NULL column without"
    )
    assert refusals(rendering, tighten, stage=Stage.POST_DEPLOY) == []


@on_postgresql
def test_expand_only_changes_pass(rendering):
    assert (
        refusals(
            rendering,
            add("retries", models.IntegerField(db_default=0)),
            add("note", models.CharField(max_length=20, null=True)),
            add("fallback", models.CharField(max_length=20, null=True, default="x")),
            migrations.CreateModel(
                "Probe",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("name", models.CharField(max_length=20, unique=True)),
                    ("count", models.IntegerField(default=0)),
                ],
                options={"indexes": [models.Index(fields=["count"], name="probe_count_idx")]},
            ),
            migrations.AlterField(
                "auditevent", "detail", models.CharField(max_length=300, blank=True)
            ),
            migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
        )
        == []
    )


@on_postgresql
def test_dropping_a_column_or_a_table_before_deploy_is_refused(rendering):
    drop_column = migrations.RemoveField("auditevent", "detail")
    assert refusals(rendering, drop_column, stage=Stage.PRE_DEPLOY) == [
        "audit.0999_probe: Remove field detail from auditevent: drops a column the previous "
        "release still reads and writes. Make it null=True (or give it a db_default) and drop "
        "it in a post-deploy migration (stage = Stage.POST_DEPLOY) of the release after the "
        "one that stops using it."
    ]
    drop_sql = migrations.RunSQL("ALTER TABLE audit_auditevent DROP COLUMN detail")
    assert "drops a column the previous release" in refusals(rendering, drop_sql)[0]
    drop_table = migrations.DeleteModel("auditevent")
    assert "drops a table the previous release still uses" in str(
        refusals(rendering, drop_table, stage=Stage.PRE_DEPLOY)
    )


@on_postgresql
def test_a_post_deploy_drop_needs_the_column_nullable_first(rendering):
    """syzygy stages a RemoveField post-deploy by itself; until it runs, this release's
    INSERTs leave the column out."""
    assert refusals(rendering, migrations.RemoveField("auditevent", "client_ip")) == []
    assert refusals(rendering, migrations.RemoveField("auditevent", "detail")) == [
        "audit.0999_probe: Remove field detail from auditevent: drops a NOT NULL column without "
        "a database default: until the post-deploy step runs, this release's INSERTs leave it "
        "out and fail. Make it null=True (or give it a db_default) in a deploy-time migration "
        "of this release first."
    ]


@on_postgresql
def test_renames_are_refused_at_either_stage(rendering):
    rename = migrations.RenameField("auditevent", "detail", "details")
    for stage in (None, Stage.POST_DEPLOY):
        assert refusals(rendering, rename, stage=stage) == [
            "audit.0999_probe: Rename field detail on auditevent to details: renames a column: "
            "a rollout serves the previous release, which uses the old name, beside this one. "
            "Keep the column's name (db_column=), or add the new column beside the old one and "
            "drop the old one in a post-deploy migration (stage = Stage.POST_DEPLOY) of the "
            "release after the one that stops using it."
        ]
    found = refusals(rendering, migrations.AlterModelTable("auditevent", "audit_events"))
    assert "renames a table" in found[0]


@on_postgresql
def test_indexes_on_existing_tables_are_built_concurrently(rendering):
    from django.contrib.postgres.operations import AddIndexConcurrently

    index = models.Index(fields=["detail"], name="auditevent_detail_idx")
    assert refusals(rendering, migrations.AddIndex("auditevent", index)) == [
        "audit.0999_probe: its SQL: builds an index on an existing table without CONCURRENTLY: "
        "writes to the table wait until it is built. Use AddIndexConcurrently "
        "(django.contrib.postgres.operations) in a migration with atomic = False."
    ]
    assert refusals(rendering, AddIndexConcurrently("auditevent", index), atomic=False) == []


@on_postgresql
def test_a_migration_mixing_stages_is_refused(rendering):
    assert refusals(
        rendering,
        add("note", models.CharField(max_length=20, null=True)),
        migrations.RemoveField("auditevent", "client_ip"),
    ) == [
        "audit.0999_probe: the migration: mixes deploy-time and post-deploy operations. Split "
        "it, or give it a stage (stage = Stage.PRE_DEPLOY or Stage.POST_DEPLOY)."
    ]
