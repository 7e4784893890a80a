import pytest

from tenants.hosts import GENERIC, tenant_for_host
from tests.factories import TenantFactory


def test_custom_url_has_slug_region_and_portal_domain(tenant):
    assert tenant.custom_url == "http://contoso.us.portal.localhost/"


def test_custom_url_carries_the_configured_port_and_scheme(tenant, settings):
    settings.PORTAL_PORT = "8000"
    settings.PORTAL_SCHEME = "https"
    assert tenant.custom_url == "https://contoso.us.portal.localhost:8000/"


def test_custom_url_uses_the_tenant_region(db):
    assert TenantFactory(slug="acme", region="eu").custom_url == "http://acme.eu.portal.localhost/"


@pytest.mark.parametrize(
    "host", ["portal.localhost", "localhost", "127.0.0.1", "PORTAL.localhost."]
)
def test_generic_hosts_name_no_tenant(db, host):
    assert tenant_for_host(host) is GENERIC


def test_a_custom_host_names_its_tenant(tenant):
    assert tenant_for_host("contoso.us.portal.localhost") == tenant
    assert tenant_for_host("Contoso.US.portal.localhost") == tenant


@pytest.mark.parametrize(
    "host",
    [
        "nobody.us.portal.localhost",
        "contoso.eu.portal.localhost",  # right slug, wrong region
        "contoso.portal.localhost",
        "a.contoso.us.portal.localhost",
    ],
)
def test_unknown_tenant_hosts_name_nothing(tenant, host):
    assert tenant_for_host(host) is None


def test_an_unknown_tenant_subdomain_is_404(client, db):
    response = client.get("/login/", HTTP_HOST="nobody.us.portal.localhost")
    assert response.status_code == 404


def test_an_unknown_tenant_subdomain_under_api_is_json_404(client, db):
    response = client.get("/api/v1/me/", HTTP_HOST="nobody.us.portal.localhost")
    assert response.status_code == 404
    assert response.json() == {"detail": "Unknown tenant."}


def test_a_host_outside_allowed_hosts_is_refused(client, db):
    assert client.get("/login/", HTTP_HOST="evil.example").status_code == 400


def test_the_generic_host_takes_the_tenant_from_the_signed_in_user(signed_in, operator):
    response = signed_in(operator, host="portal.localhost").get("/about/")
    assert response.status_code == 200
    assert "http://contoso.us.portal.localhost/" in response.content.decode()
