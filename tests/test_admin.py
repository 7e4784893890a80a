import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import audit_record
from tenants.models import User
from tests.factories import TokenFactory, UserFactory
from tokens.models import Token


@pytest.fixture
def platform(db):
    user = UserFactory(tenant=None, is_superuser=True, is_staff=True, email="root@platform.test")
    client = Client(HTTP_HOST="portal.localhost")
    client.force_login(user)
    return client


def test_superusers_manage_tenants_and_users(platform, operator):
    assert platform.get("/admin/tenants/tenant/").status_code == 200
    assert operator.email in platform.get("/admin/tenants/user/").content.decode()


def test_token_admin_shows_no_digest_and_revokes(platform, operator):
    token = TokenFactory(owner=operator)
    html = platform.get(f"/admin/tokens/token/{token.pk}/change/").content.decode()
    assert token.digest not in html
    platform.post(
        "/admin/tokens/token/", {"action": "revoke_selected", "_selected_action": [str(token.pk)]}
    )
    assert Token.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", token=token).exists()


def test_audit_events_cannot_be_changed_or_deleted_in_admin(platform, full_admin):
    event = audit_record(tenant=full_admin.tenant, action="user.signed_in", actor=full_admin)
    assert (
        platform.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_tenant_users_cannot_reach_admin(signed_in, full_admin):
    response = signed_in(full_admin).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_adds_a_user_whose_email_another_tenant_has(platform, operator, other_tenant):
    form = {
        "email": "OPERATOR@contoso.test",
        "tenant": str(other_tenant.pk),
        "role": "security_reader",
        "usable_password": "true",
        "password1": "a long enough passphrase",
        "password2": "a long enough passphrase",
    }
    response = platform.post("/admin/tenants/user/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.filter(email__iexact="operator@contoso.test").count() == 2
    # In the same tenant, whatever the case: the form says so, no error page.
    response = platform.post(
        "/admin/tenants/user/add/", {**form, "tenant": str(operator.tenant.pk)}
    )
    assert response.status_code == 200
    assert "This tenant already has a user with this e-mail." in response.content.decode()
    assert User.objects.filter(email__iexact="operator@contoso.test").count() == 2


def test_admin_changes_a_user(platform, operator):
    form = {
        "email": operator.email,
        "tenant": str(operator.tenant.pk),
        "role": "full_admin",
        "is_active": "on",
    }
    response = platform.post(f"/admin/tenants/user/{operator.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    operator.refresh_from_db()
    assert operator.role == "full_admin"
