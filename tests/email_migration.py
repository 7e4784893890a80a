"""Run inside a portal process by tests/test_email_migration.py (testbed.throwaway.run_in_portal):
data written before tenants 0002, and what it must be after."""

import json
import sys

from django.contrib.sessions.backends.db import SessionStore
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from identity.models import ScimIdentity
from tenants.models import Tenant, User, UserSession


def _session(user):
    session = SessionStore()
    session.update(
        {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "tenants.backends.TenantEmailBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
    )
    session.create()
    return session.session_key


def _old_tenant(slug, name):
    """A tenant row with the columns of tenants 0001 only: later migrations add columns that
    the model of today would insert. Loaded with its key alone, for the same reason."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenants_tenant (slug, name, region, created_at, token_expiry_required) "
            "VALUES (%s, %s, 'us', %s, %s)",
            [slug, name, timezone.now(), False],
        )
    return Tenant.objects.only("pk").get(slug=slug)


def seed():
    """Before the migration: columns as they were, so plain saves still fit (users, sessions,
    identities); tenants, whose table has grown since, are written as they were."""
    duplicates = json.load(sys.stdin)
    contoso = _old_tenant("contoso", "Contoso")
    _old_tenant("fabrikam", "Fabrikam")
    alice = User.objects.create_user("alice@example.test", "pw", tenant=contoso)
    bob = User.objects.create_user("bob@example.test", "pw", tenant=contoso)
    User.objects.filter(pk=bob.pk).update(is_active=False, deprovisioned_at=timezone.now())
    User.objects.create_superuser("root@platform.test", "pw")
    ScimIdentity.objects.create(user=alice, tenant=contoso, user_name="alice")
    if duplicates:
        User.objects.create_user("carol@example.test", "pw", tenant=contoso)
        User.objects.filter(email="carol@example.test").update(email="Carol@example.test")
        User.objects.create_user("carol@example.test", "pw", tenant=contoso)
    print(json.dumps({"alice": _session(alice), "bob": _session(bob)}))


def _refused(**fields):
    try:
        with transaction.atomic():
            User.objects.create_user(**fields)
    except IntegrityError:
        return True
    return False


def check():
    sessions = json.load(sys.stdin)
    contoso, fabrikam = Tenant.objects.get(slug="contoso"), Tenant.objects.get(slug="fabrikam")
    alice = User.objects.get(email="alice@example.test")
    print(
        json.dumps(
            {
                "alice_session_recorded": UserSession.objects.filter(
                    session_id=sessions["alice"], user=alice
                ).exists(),
                "bob_session_ended": not SessionStore().exists(sessions["bob"]),
                "identity_kept": alice.scim_identities.get().user_name == "alice",
                "same_email_elsewhere": not _refused(email="ALICE@example.test", tenant=fabrikam),
                "same_email_same_tenant": _refused(email="Alice@Example.test", tenant=contoso),
                "second_platform_operator": _refused(email="ROOT@platform.test", is_superuser=True),
            }
        )
    )
