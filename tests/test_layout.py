import pytest
from django.urls import URLResolver, get_resolver, reverse

from approvals.services import token_request_create
from integrations.models import LogCollector, SiemAgent
from tenants.services import service_account_create
from tests.api import api_client
from tokens.models import Token, TokenKind


def test_the_top_bar_has_settings_and_help_menus(signed_in, operator):
    html = signed_in(operator).get("/about/").content.decode()
    assert "<summary>Settings</summary>" in html
    assert ">Security extensions</a>" in html
    assert 'aria-label="Help"' in html
    assert ">?</summary>" in html
    assert ">About</a>" in html


def test_about_shows_the_tenants_custom_url_and_version(signed_in, operator, settings):
    settings.PORTAL_PORT = "8000"
    html = signed_in(operator).get("/about/").content.decode()
    assert 'value="http://contoso.us.portal.localhost:8000/"' in html
    assert 'data-copy-target="custom-url"' in html
    assert "Product version" in html


def test_security_extensions_lists_api_tokens(signed_in, full_admin):
    html = signed_in(full_admin).get("/settings/security-extensions/").content.decode()
    assert 'href="/settings/security-extensions/api-tokens/"' in html


def test_settings_leads_to_security_extensions(signed_in, reader):
    response = signed_in(reader).get("/settings/")
    assert response["Location"] == "/settings/security-extensions/"


def test_pages_send_security_headers(signed_in, reader):
    response = signed_in(reader).get("/about/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_static_files_are_served_without_sign_in(client, tenant):
    response = client.get("/static/portal/portal.css", HTTP_HOST=tenant.host)
    assert response.status_code == 200


# --- Nothing a signed-in user or a token sees is kept by a shared cache ---------------------

# Every named page of the URL map (tests below check the list is complete), with the object
# its path needs, if any.
PAGES = {
    "home": None,
    "login": None,
    "logout": None,
    "about": None,
    "help-tokens": None,
    "help-api": None,
    "settings": None,
    "security-extensions": None,
    "usage-overview": None,
    "tokens:list": None,
    "tokens:generate": None,
    "tokens:policy": None,
    "tokens:revoke-deprovisioned": None,
    "tokens:detail": "token_id",
    "tokens:revoke": "token_id",
    "tokens:rotate": "token_id",
    "tokens:suspend": "token_id",
    "tokens:resume": "token_id",
    "tokens:networks": "token_id",
    "tokens:review-networks": "token_id",
    "service-accounts:list": None,
    "service-accounts:detail": "service_account",
    "service-accounts:generate": "service_account",
    "service-accounts:sponsor": "service_account",
    "service-accounts:role": "service_account",
    "integrations:siem-list": None,
    "integrations:siem-add": None,
    "integrations:siem-regenerate": "siem",
    "integrations:siem-delete": "siem",
    "integrations:collectors-list": None,
    "integrations:collectors-add": None,
    "integrations:collectors-regenerate": "collector",
    "integrations:collectors-delete": "collector",
    "audit:log": None,
    "audit:csv": None,
    "identity:sso-begin": None,
    "identity:sso-callback": None,
    "identity:settings": None,
    "identity:role-mapping": None,
    "identity:token-add": None,
    "identity:token-revoke": "provisioning_id",
    "notifications:settings": None,
    "approvals:list": None,
    "approvals:new": None,
    "approvals:approve": "request_id",
    "approvals:deny": "request_id",
    "approvals:reveal": "request_id",
}


def named_routes(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{pattern.namespace}:" if pattern.namespace else namespace
            if inner != "admin:":
                yield from named_routes(pattern.url_patterns, inner)
        elif pattern.name:
            yield namespace + pattern.name


def test_the_page_table_names_every_page_of_the_url_map():
    pages = {name for name in named_routes() if not name.startswith("api-")}
    assert pages - {"identity:scim"} == set(PAGES)


@pytest.fixture
def objects_of_every_page(full_admin, issue):
    siem = SiemAgent.objects.create(
        tenant=full_admin.tenant,
        name="SIEM",
        token=issue(full_admin, "SIEM", kind=TokenKind.SIEM)[0],
        port=514,
        format="cef",
        host="siem.example",
        created_by=full_admin,
    )
    collector = LogCollector.objects.create(
        tenant=full_admin.tenant,
        name="Collector",
        token=issue(full_admin, "Collector", kind=TokenKind.LOG_COLLECTOR)[0],
        port=514,
        source_type="dns",
        receiver="syslog",
        created_by=full_admin,
    )
    return {
        "token_id": issue(full_admin, "CI")[0].pk,
        "siem": siem.public_id,
        "collector": collector.public_id,
        "provisioning_id": issue(full_admin, "Okta", kind=TokenKind.PROVISIONING)[0].pk,
        "request_id": token_request_create(
            requester=full_admin,
            name="Asked",
            reason="A reason",
            access="read_only",
            allowed_networks=[],
            expires_at=None,
        ).pk,
        "service_account": service_account_create(
            tenant=full_admin.tenant, name="ci", role="security_reader", sponsor=full_admin
        ).name,
    }


def page_url(name, objects_of_every_page):
    needs = PAGES[name]
    if needs is None:
        return reverse(name)
    key = {
        "siem": "public_id",
        "collector": "public_id",
        "service_account": "name",
        "request_id": "request_id",
    }.get(needs, "token_id")
    return reverse(name, kwargs={key: objects_of_every_page[needs]})


def cache_directives(response):
    return {part.strip() for part in response.get("Cache-Control", "").split(",")}


@pytest.mark.parametrize(
    ("name", "method"),
    # Every page both ways (a GET of a POST-only page is a 405, to a signed-in user all the
    # same), but signing out: that answer goes to nobody.
    [(name, method) for name in PAGES for method in ("get", "post") if name != "logout"]
    + [("logout", "get")],
)
def test_every_page_to_a_signed_in_user_is_private_and_not_stored(
    signed_in, full_admin, objects_of_every_page, name, method
):
    client = signed_in(full_admin)
    response = getattr(client, method)(page_url(name, objects_of_every_page))
    assert response.status_code < 500
    assert {"private", "no-store"} <= cache_directives(response), response.status_code


def test_the_token_reveal_stays_no_store(signed_in, full_admin):
    response = signed_in(full_admin).post(
        "/settings/security-extensions/api-tokens/new/", {"name": "CI", "form_id": "a" * 32}
    )
    assert "token-value" in response.content.decode()
    assert {"private", "no-store"} <= cache_directives(response)


API_CALLS = [
    ("get", "/api/v1/me/", "api"),
    ("get", "/api/v1/tokens/", "api"),
    ("get", "/api/v1/tokens/{token_id}/", "api"),
    ("get", "/api/v1/audit/", "api"),
    ("delete", "/api/v1/tokens/{token_id}/", "api"),
    ("post", "/api/v1/siem/heartbeat/", "siem"),
    ("post", "/api/v1/log-collectors/heartbeat/", "log_collector"),
]


@pytest.mark.parametrize(("method", "path", "kind"), API_CALLS)
def test_every_api_answer_with_tenant_data_is_private_and_not_stored(
    issue, full_admin, objects_of_every_page, method, path, kind
):
    if kind == "api":
        _, secret = issue(full_admin, "caller")
    else:
        model = SiemAgent if kind == "siem" else LogCollector
        item = model.objects.get()
        # A fresh secret for the integration's token (the fixture's is not kept).
        _, secret = issue(full_admin, "agent", kind=TokenKind(kind))
        model.objects.filter(pk=item.pk).update(token=Token.objects.get(name="agent"))
    path = path.format(**objects_of_every_page)
    # A heartbeat's body is JSON (the test client's default POST body is multipart).
    json_body = {"content_type": "application/json"} if method == "post" else {}
    response = getattr(api_client(secret), method)(path, **json_body)
    assert response.status_code in (200, 204)
    assert {"private", "no-store"} <= cache_directives(response)
