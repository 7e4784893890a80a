"""404, 403, 400 and 500 pages use the portal's layout, say one helpful sentence and link
back; under /api/ and /scim/ errors stay JSON; the 500 page touches no database."""

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory

from portal import views
from tenants.models import Role, Tenant, User

MISSING = "/settings/no-such-page/"
AUDIT_LOG = "/settings/audit-log/"  # @allowed(may_see_audit_log): 404 to others


def _layout(html):
    return 'class="topbar"' in html and "portal/portal.css" in html and "Skip to content" in html


def test_404_signed_out_has_the_layout_and_a_way_to_sign_in(tenant):
    response = Client(HTTP_HOST=tenant.host).get(MISSING)
    assert response.status_code == 404
    html = response.content.decode()
    assert _layout(html)
    assert "Page not found" in html and "This page does not exist" in html
    assert 'href="/login/">Go to sign-in' in html
    assert "Sign out" not in html  # no navigation for strangers


def test_404_for_a_full_admin_has_navigation_and_a_link_back(signed_in, full_admin):
    response = signed_in(full_admin).get(MISSING)
    assert response.status_code == 404
    html = response.content.decode()
    assert _layout(html) and "Sign out" in html and "Security extensions" in html
    assert "This page does not exist, or what it showed was removed." in html
    assert "Back to API tokens" in html


def test_a_page_refused_by_role_stays_404_and_says_it_may_be_for_full_admins(signed_in, reader):
    response = signed_in(reader).get(AUDIT_LOG)
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist, or is for full admins of Contoso." in html
    assert _layout(html) and "Sign out" in html


def test_403_says_whose_page_it_is(signed_in, reader, full_admin, tenant, monkeypatch):
    def refuse():
        raise PermissionDenied

    monkeypatch.setattr(views, "product_version", refuse)
    response = signed_in(reader).get("/about/")
    assert response.status_code == 403
    html = response.content.decode()
    assert _layout(html) and "This page is for full admins of Contoso." in html
    assert "Back to API tokens" in html
    html = signed_in(full_admin).get("/about/").content.decode()
    assert "You are not allowed to do this." in html


def test_403_without_a_session_asks_to_sign_in(tenant):
    request = RequestFactory().get("/about/")
    request.user, request.tenant = AnonymousUser(), tenant
    response = views.permission_denied(request)
    assert response.status_code == 403
    html = response.content.decode()
    assert _layout(html) and "Sign in first" in html and "Go to sign-in" in html


def test_500_through_the_client_keeps_the_layout_and_navigation(signed_in, full_admin, monkeypatch):
    def broken():
        raise ValueError("a bug")

    monkeypatch.setattr(views, "product_version", broken)
    client = signed_in(full_admin)
    client.raise_request_exception = False
    response = client.get("/about/")
    assert response.status_code == 500
    html = response.content.decode()
    assert _layout(html) and "Something went wrong" in html
    assert "admin@contoso.test" in html and "Sign out" in html and "Back to API tokens" in html
    assert 'name="csrfmiddlewaretoken"' in html  # Sign out still works


def _handled(request):
    try:
        raise ValueError("a bug")
    except ValueError:
        return views.server_error(request)


# No `db` fixture: pytest-django fails a test that touches the database.
def test_500_without_a_session_renders_without_the_database():
    response = _handled(RequestFactory().get("/about/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert _layout(html) and "Something went wrong" in html and "Go to sign-in" in html


def test_500_with_a_loaded_user_renders_without_the_database():
    request = RequestFactory().get("/about/")
    request.tenant = Tenant(name="Contoso", slug="contoso")
    request._cached_user = User(email="admin@contoso.test", role=Role.FULL_ADMIN, is_active=True)
    html = _handled(request).content.decode()
    assert "admin@contoso.test" in html and "Contoso" in html and "Back to API tokens" in html


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/scim/v2/Nothing"])
def test_500_under_api_and_scim_stays_json(path):
    response = _handled(RequestFactory().get(path))
    assert response.status_code == 500
    assert json.loads(response.content) == {"detail": "Internal server error."}


def test_404_under_the_api_stays_json(tenant, issue, full_admin):
    _token, secret = issue(full_admin)
    response = Client(HTTP_HOST=tenant.host).get(
        "/api/v1/nothing-here/", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_form_without_a_valid_csrf_token_gets_the_portals_403(tenant, full_admin):
    client = Client(HTTP_HOST=tenant.host, enforce_csrf_checks=True)
    response = client.post("/login/", {"email": "a@b.test", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert _layout(html) and "Form expired" in html and "reload the page" in html
    assert "Go to sign-in" in html
