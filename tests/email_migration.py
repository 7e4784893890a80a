"""Run inside a portal process by tests/test_email_migration.py (testbed.throwaway.run_in_portal):
data written before tenants 0002, and what it must be after."""

import json
import sys

from django.contrib.auth.hashers import make_password
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


def _old_user(email, tenant=None):
    """A user row with the columns of tenants 0001 only (later migrations add columns, e.g.
    is_service_account, that the model of today would insert); a platform operator without
    a tenant. Loaded with the columns a session needs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenants_user (password, is_superuser, email, role, is_active, "
            "is_staff, date_joined, tenant_id) VALUES (%s, %s, %s, 'security_reader', %s, "
            "%s, %s, %s)",
            [
                make_password("pw"),
                tenant is None,
                email,
                True,
                tenant is None,
                timezone.now(),
                tenant and tenant.pk,
            ],
        )
    return User.objects.only("pk", "password").filter(email=email).latest("pk")


def seed():
    """Before the migration: sessions and identities as plain saves (their tables are as they
    were); tenants and users, whose tables have grown since, are written as they were."""
    duplicates = json.load(sys.stdin)
    contoso = _old_tenant("contoso", "Contoso")
    _old_tenant("fabrikam", "Fabrikam")
    alice = _old_user("alice@example.test", contoso)
    bob = _old_user("bob@example.test", contoso)
    User.objects.filter(pk=bob.pk).update(is_active=False, deprovisioned_at=timezone.now())
    _old_user("root@platform.test")
    ScimIdentity.objects.create(user=alice, tenant=contoso, user_name="alice")
    if duplicates:
        _old_user("carol@example.test", contoso)
        User.objects.filter(email="carol@example.test").update(email="Carol@example.test")
        _old_user("carol@example.test", contoso)
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
