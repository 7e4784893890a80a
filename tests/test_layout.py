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


def test_security_extensions_lists_api_tokens(signed_in, reader):
    html = signed_in(reader).get("/settings/security-extensions/").content.decode()
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
