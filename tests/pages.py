"""Helpers for page tests."""


def revealed_value(response):
    """The token value a copy-once reveal response shows in its read-only Token field."""
    html = response.content.decode()
    start = html.index(">", html.index('id="token-value"')) + 1
    return html[start : html.index("</textarea>", start)]


# A complete single sign-on form of Settings › Identity, as a full admin would post it.
GOOD_SSO = {
    "sso_enabled": "on",
    "provider_name": "Okta",
    "issuer": "https://contoso.okta.example",
    "client_id": "0oa1portal",
    "client_secret": "a-very-secret-value",
    "password_sign_in": "on",
}
