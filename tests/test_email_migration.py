"""tenants 0002 on a database written before it: e-mails become unique per tenant, open
sessions get their owner recorded, and those of deprovisioned users end (issue 14)."""

import pytest

from testbed.throwaway import ThrowawayDatabase, manage, portal_env, run_in_portal


@pytest.fixture
def before(tmp_path):
    """A database in the state before tenants 0002: every other migration applied (the seed
    writes sessions and SCIM identities too)."""
    database = ThrowawayDatabase(tmp_path, label="emails")
    env = portal_env(database)
    manage("migrate", "--noinput", "-v0", env=env)
    manage("migrate", "tenants", "0001", "--noinput", "-v0", env=env)
    yield database, env
    database.drop()


def test_existing_users_and_sessions_migrate(before):
    database, env = before
    sessions = run_in_portal("tests.email_migration.seed", env=env, payload=False)
    manage("migrate", "--noinput", "-v0", env=env)
    assert run_in_portal("tests.email_migration.check", env=env, payload=sessions) == {
        "alice_session_recorded": True,
        "bob_session_ended": True,
        "identity_kept": True,
        "same_email_elsewhere": True,
        "same_email_same_tenant": True,
        "second_platform_operator": True,
    }


def test_emails_differing_only_in_case_stop_the_migration_with_their_names(before):
    database, env = before
    run_in_portal("tests.email_migration.seed", env=env, payload=True)
    with pytest.raises(RuntimeError, match="differing only in case.*carol@example.test"):
        manage("migrate", "--noinput", "-v0", env=env)
    # Nothing half-done: the e-mails are still unique as typed, as before.
    assert database.query("SELECT COUNT(*) FROM django_migrations WHERE app = 'tenants'") == [(1,)]
