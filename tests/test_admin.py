import logging

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import audit_record
from identity.models import IdentitySettings
from tenants.models import Tenant, User
from tenants.services import user_deprovision
from tests.api import api_client
from tests.bad_values import UNMAILABLE_EMAILS
from tests.factories import PASSWORD, TokenFactory, UserFactory
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
    # On the generic host: a tenant's own host has no admin at all (ADMIN_HOSTS).
    response = signed_in(full_admin, host="portal.localhost").get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- Signing in to Django admin: platform operators only, limited and recorded ------------

ADMIN_LOGIN = "/admin/login/"
GENERIC = "portal.localhost"


@pytest.fixture
def root(db):
    return UserFactory(tenant=None, is_superuser=True, is_staff=True, email="root@platform.test")


def admin_sign_in(email, password=PASSWORD, host=GENERIC, client=None, **extra):
    client = client or Client(HTTP_HOST=host)
    response = client.post(
        ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"}, **extra
    )
    return client, response


def signed_in_to_admin(client):
    return client.get("/admin/").status_code == 200


def test_a_platform_operator_signs_in_to_admin(root):
    client, response = admin_sign_in(root.email)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert signed_in_to_admin(client)


def test_admin_sign_in_failures_are_limited_per_email_and_address(root, settings):
    settings.SIGN_IN_FAILURE_LIMIT = 3
    codes = [admin_sign_in(root.email, "wrong")[1].status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    client, response = admin_sign_in(root.email)  # the right password, too late
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert 'href="/admin/login/"' in response.content.decode()
    assert not signed_in_to_admin(client)
    # Another address is not held back by this one's failures.
    _, elsewhere = admin_sign_in(root.email, REMOTE_ADDR="192.0.2.77")
    assert elsewhere.status_code == 302


def test_admin_sign_in_failures_are_limited_per_address(root, settings):
    settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = 4
    for number in range(4):
        assert admin_sign_in(f"guess{number}@platform.test", "x")[1].status_code == 200
    assert admin_sign_in(root.email)[1].status_code == 429


def test_failures_on_the_portal_and_admin_forms_count_together(root, settings):
    settings.SIGN_IN_FAILURE_LIMIT = 3
    for _ in range(2):
        Client(HTTP_HOST=GENERIC).post("/login/", {"username": root.email, "password": "x"})
    assert admin_sign_in(root.email, "x")[1].status_code == 200
    assert admin_sign_in(root.email)[1].status_code == 429


def test_platform_operator_sign_ins_are_logged_not_audited(root, caplog):
    caplog.set_level(logging.INFO, logger="portal.signin")
    admin_sign_in(root.email, "wrong", REMOTE_ADDR="192.0.2.10")
    admin_sign_in("nobody@platform.test", "wrong", REMOTE_ADDR="192.0.2.11")
    admin_sign_in(root.email, REMOTE_ADDR="192.0.2.12")
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.signin"]
    assert lines == [
        "Sign-in failed for platform operator “root@platform.test” at /admin/login/ "
        "from 192.0.2.10.",
        "Sign-in failed for an unknown account at /admin/login/ from 192.0.2.11.",
        "Platform operator “root@platform.test” signed in at /admin/login/ from 192.0.2.12.",
    ]
    assert not AuditEvent.objects.exists()


def test_a_tenant_users_failed_admin_sign_in_is_audited_in_its_tenant(full_admin):
    admin_sign_in(full_admin.email, "wrong", REMOTE_ADDR="192.0.2.20")
    event = AuditEvent.objects.get(tenant=full_admin.tenant)
    assert (event.action, event.subject, event.client_ip) == (
        "user.sign_in_failed",
        full_admin,
        "192.0.2.20",
    )
    assert event.detail == "Sign-in failed for “admin@contoso.test” at Django admin."


@pytest.mark.parametrize(
    "flags",
    [{"is_staff": True}, {"is_staff": True, "is_superuser": True}],
    ids=["staff", "superuser"],
)
@pytest.mark.parametrize("sso_only", [False, True], ids=["passwords-on", "sso-only"])
def test_tenant_users_never_sign_in_to_admin(full_admin, flags, sso_only):
    User.objects.filter(pk=full_admin.pk).update(**flags)
    if sso_only:
        IdentitySettings.objects.create(
            tenant=full_admin.tenant,
            sso_enabled=True,
            provider_name="Okta",
            issuer="https://idp.example",
            client_id="portal",
            client_secret="s3cret",
            password_sign_in=False,
        )
    client, response = admin_sign_in(full_admin.email)
    assert response.status_code == 200
    assert "Please enter the correct email and password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Nor with a session from elsewhere: the admin is for platform operators only.
    client.force_login(full_admin)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)
    assert AuditEvent.objects.get(tenant=full_admin.tenant).action == "user.sign_in_failed"


def test_tenant_users_cannot_be_made_staff_in_admin(platform, operator):
    url = f"/admin/tenants/user/{operator.pk}/change/"
    form = {
        "email": operator.email,
        "tenant": operator.tenant_id,
        "role": operator.role,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = platform.post(url, form)
    assert response.status_code == 200
    assert "Django admin is for platform operators" in response.content.decode()
    operator.refresh_from_db()
    assert not operator.is_staff


@pytest.mark.parametrize("path", ["/admin/", ADMIN_LOGIN, "/admin/tenants/tenant/"])
def test_admin_is_not_served_on_a_tenants_custom_host(tenant, root, path):
    client = Client(HTTP_HOST=tenant.host)
    assert client.get(path).status_code == 404
    assert (
        client.post(ADMIN_LOGIN, {"username": root.email, "password": PASSWORD}).status_code == 404
    )


def test_admin_hosts_name_where_admin_answers(root, settings):
    settings.ADMIN_HOSTS = ["admin.internal"]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "admin.internal"]
    assert Client(HTTP_HOST=GENERIC).get(ADMIN_LOGIN).status_code == 404
    client, response = admin_sign_in(root.email, host="admin.internal")
    assert response.status_code == 302 and signed_in_to_admin(client)


def test_an_empty_admin_hosts_turns_admin_off(root, settings):
    settings.ADMIN_HOSTS = []
    assert Client(HTTP_HOST=GENERIC).get(ADMIN_LOGIN).status_code == 404
    assert admin_sign_in(root.email)[1].status_code == 404


@pytest.mark.parametrize("email", ["x" * 1_000_000, "root\x00@platform.test", ""])
def test_bad_admin_sign_in_input_is_the_form_again(root, email):
    client, response = admin_sign_in(email)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


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


@pytest.mark.parametrize("email", UNMAILABLE_EMAILS.values(), ids=UNMAILABLE_EMAILS)
def test_admin_refuses_an_address_no_mail_can_be_sent_to(platform, operator, email):
    added = platform.post(
        "/admin/tenants/user/add/",
        {
            "email": email,
            "tenant": str(operator.tenant_id),
            "role": "security_reader",
            "usable_password": "false",
        },
    )
    changed = platform.post(
        f"/admin/tenants/user/{operator.pk}/change/",
        {"email": email, "tenant": str(operator.tenant_id), "role": operator.role},
    )
    for response in (added, changed):
        assert response.status_code == 200
        assert "cannot be mailed as written" in response.content.decode()
    assert set(User.objects.values_list("email", flat=True)) == {
        "root@platform.test",
        "operator@contoso.test",
    }


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


# --- Changes in Django admin go through the services: audited, and on every host at once ------
# (CONTRACT §10). Each token is cached first: only an announcement could make it stale.

ME = "/api/v1/me/"


def cached_client(secret):
    client = api_client(secret)
    for _ in range(2):
        assert client.get(ME).status_code == 200
    return client


def change_user(platform, user, **fields):
    form = {
        "email": user.email,
        "tenant": str(user.tenant_id),
        "role": user.role,
        "is_active": "on",
        **fields,
    }
    form = {name: value for name, value in form.items() if value is not None}
    response = platform.post(f"/admin/tenants/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()


def event(action, user):
    found = AuditEvent.objects.get(action=action, subject=user)
    assert (found.actor_email, found.via) == ("root@platform.test", "page")
    return found


def test_a_role_change_in_admin_reaches_a_cached_token_at_once(platform, operator, issue, caching):
    token, secret = issue(operator)
    client = cached_client(secret)
    change_user(platform, operator, role="security_reader")
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 403
    assert event("user.role_changed", operator).detail == "Security operator → Security reader."


def test_a_deactivation_in_admin_deprovisions_and_reaches_a_cached_token_at_once(
    platform, operator, issue, caching
):
    _, secret = issue(operator)
    client = cached_client(secret)
    change_user(platform, operator, is_active=None)
    assert client.get(ME).status_code == 403
    assert operator.is_deprovisioned and not operator.is_active
    event("user.deprovisioned", operator)


def test_a_reactivation_in_admin_revokes_the_tokens_the_user_kept(platform, operator, issue):
    token, secret = issue(operator)
    user_deprovision(user=operator)
    change_user(platform, operator, is_active="on")
    assert operator.is_active and not operator.is_deprovisioned
    assert api_client(secret).get(ME).status_code == 401
    token.refresh_from_db()
    assert token.is_revoked
    assert event("user.reactivated", operator).detail.startswith(
        "Reactivated by a platform operator in Django admin; had been deprovisioned with "
        "deprovisionuser"
    )


def test_an_email_change_in_admin_shows_at_once(platform, operator, issue, caching):
    _, secret = issue(operator)
    client = cached_client(secret)
    change_user(platform, operator, email="renamed@contoso.test")
    assert client.get(ME).json()["user"]["email"] == "renamed@contoso.test"
    assert event("user.updated", operator).detail == "E-mail changed from operator@contoso.test."


def test_a_revocation_in_admin_reaches_a_cached_token_at_once(platform, operator, issue, caching):
    token, secret = issue(operator)
    client = cached_client(secret)
    platform.post(
        "/admin/tokens/token/", {"action": "revoke_selected", "_selected_action": [str(token.pk)]}
    )
    assert client.get(ME).status_code == 401


def test_a_tenant_change_in_admin_reaches_a_cached_token_and_audits_the_policy(
    platform, tenant, operator, issue, caching
):
    _, secret = issue(operator)
    client = cached_client(secret)
    form = {
        "slug": tenant.slug,
        "name": "Contoso Ltd",
        "region": tenant.region,
        "token_max_lifetime_days": "30",
        "service_account_sponsor_grace_days": "30",  # the form shows it filled in
        "token_creators": "everyone",  # and this one chosen
    }
    response = platform.post(f"/admin/tenants/tenant/{tenant.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get(ME).json()["tenant"]["name"] == "Contoso Ltd"
    found = AuditEvent.objects.get(action="tenant.policy_changed", tenant=tenant)
    assert (found.actor_email, found.detail) == (
        "root@platform.test",
        "Expiry optional, max lifetime 30 days.",
    )


def test_a_user_and_a_tenant_deleted_in_admin_are_gone(platform, other_tenant):
    user = UserFactory(tenant=other_tenant)
    platform.post(f"/admin/tenants/user/{user.pk}/delete/", {"post": "yes"})
    assert not User.objects.filter(pk=user.pk).exists()
    platform.post(f"/admin/tenants/tenant/{other_tenant.pk}/delete/", {"post": "yes"})
    assert not Tenant.objects.filter(pk=other_tenant.pk).exists()


def test_tokens_are_read_only_in_admin_but_for_revocation(platform, operator):
    token = TokenFactory(owner=operator)
    html = platform.get(f"/admin/tokens/token/{token.pk}/change/").content.decode()
    assert 'name="_save"' not in html
    assert platform.post(f"/admin/tokens/token/{token.pk}/change/", {}).status_code == 403


def test_sent_notifications_are_listed_read_only_in_admin(platform, operator):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from notifications.models import SentNotification

    now = timezone.now()  # issued long before the week-ahead warning window opened
    token = TokenFactory(
        owner=operator,
        name="expiring soon",
        created_at=now - timedelta(days=60),
        expires_at=now + timedelta(days=3),
    )
    call_command("sendnotifications", stdout=StringIO())
    sent = SentNotification.objects.get(token=token)
    listing = platform.get("/admin/notifications/sentnotification/").content.decode()
    assert operator.email in listing and "expiring soon" in listing
    page = platform.get(f"/admin/notifications/sentnotification/{sent.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # read only
    deleted = platform.post(
        f"/admin/notifications/sentnotification/{sent.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert SentNotification.objects.filter(pk=sent.pk).exists()


def test_failed_notifications_show_why_and_when_they_are_tried_again_in_admin(platform, operator):
    from notifications.models import Delivery, Kind, SentNotification

    SentNotification.objects.create(
        kind=Kind.WEEKLY_DIGEST,
        tenant=operator.tenant,
        recipient=operator,
        period_key="2026-W49",
        sent_at=None,
        delivery=Delivery.FAILED,
        attempts=2,
        last_error="{'operator@contoso.test': (550, b'5.1.1 No such mailbox here')}",
    )
    listing = platform.get(
        "/admin/notifications/sentnotification/", {"delivery__exact": "failed"}
    ).content.decode()
    assert "Failed, tried again later" in listing and "No such mailbox here" in listing
    assert '<td class="field-attempts">2</td>' in listing
