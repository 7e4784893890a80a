"""Hostile input on every surface the portal reads (issue 9).

Every form field, query parameter, path id, command argument and header gets empty, huge
(1 MB), non-UTF-8, control-character, SQL, template, wrong-type and out-of-range values. Each
refusal is a clear message (an HTML page, JSON {"detail": ...} under /api/, or one command
line), never a 500 or a traceback, and leaves rows and audit events as they were.

Cases pinned elsewhere are not repeated here (file::test):
- sign-in: test_sign_in.py (unknown, empty, malformed e-mails; wrong passwords; CSRF)
- token name: test_token_generate.py::test_a_bad_name_shows_an_inline_error_and_issues_nothing
- expiry: test_token_expiry.py::test_bad_expiry_input_is_refused_inline
- token policy: test_token_expiry.py::test_bad_policy_values_are_refused (0, -1, abc, 3651)
- audit filters: test_audit.py::test_bad_filters_get_a_clear_message,
  test_audit.py::test_the_api_refuses_bad_filters
- ?status= on the page:
  test_token_list.py::test_an_unknown_status_gets_a_clear_message_not_an_error
- ?page= on the page: test_token_list.py::test_bad_page_numbers_still_show_a_page
- API query parameters: test_api_endpoints.py::test_bad_query_parameters_are_400_json
- path ids: test_token_revoke.py::test_malformed_ids_are_404,
  test_token_revoke.py::test_another_tenants_token_is_404_even_for_a_full_admin,
  test_api_endpoints.py::test_tokens_the_owner_may_not_see_are_404,
  test_api_endpoints.py::test_malformed_ids_are_json_404
- commands: test_commands.py (bad slugs, e-mails, roles, passwords, names)
- Authorization: test_api_auth.py::test_malformed_headers_are_401_without_a_query,
  test_api_auth.py::test_values_failing_shape_or_checksum_are_401_without_a_query
- Host: test_hosts.py (unknown tenant sub-domains, hosts outside ALLOWED_HOSTS)
- leak-report bodies: test_leak_report.py::test_malformed_bodies_are_400,
  test_leak_report.py::test_non_utf8_bodies_are_400
- identity settings: test_identity_settings.py (missing values, lengths, duplicate role
  values), test_sso_outbound.py (internal and plain-http issuers)
"""

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from audit.services import audit_record
from identity.models import IdentitySettings
from tests.api import api_client
from tests.bad_values import (
    CONTROL,
    EMPTY,
    FORM,
    HUGE,
    NON_UTF8,
    NUL,
    NUMBERS,
    SQL,
    STRINGS,
    TEMPLATE,
    encode,
    row_counts,
)
from tests.factories import PASSWORD, TokenFactory, UserFactory
from tests.pages import GOOD_SSO
from tokens import crypto, pending
from tokens.models import Token, TokenClientAddress, TokenKind

ROOT = Path(__file__).resolve().parent.parent
TOKENS = "/settings/security-extensions/api-tokens/"
GENERATE = TOKENS + "new/"
POLICY = TOKENS + "policy/"
AUDIT_LOG = "/settings/audit-log/"
AUDIT_CSV = AUDIT_LOG + "export.csv"
API_TOKENS = "/api/v1/tokens/"
API_AUDIT = "/api/v1/audit/"


def strings(*names):
    return pytest.mark.parametrize("value", [STRINGS[n] for n in names], ids=names)


# --- Sign-in form -------------------------------------------------------------------------

SIGN_IN_MESSAGES = (
    "That email and password do not match an account that can sign in here.",
    "This field is required.",
    "Null characters are not allowed.",
    "Ensure this value has at most 254 characters",
)


@pytest.mark.parametrize("field", ["username", "password"])
@strings(*STRINGS)
def test_bad_sign_in_input_shows_the_form_again_and_signs_nobody_in(operator, field, value):
    client = Client(HTTP_HOST=operator.tenant.host)
    before = row_counts()
    data = {"username": operator.email, "password": PASSWORD, field: value}
    response = client.post("/login/", encode(data), content_type=FORM)
    # A refused sign-in is the form again with 200, as Django's LoginView answers it (and as
    # test_sign_in.py pins); what matters here is the message and that nobody is signed in.
    assert response.status_code == 200
    assert any(message in response.content.decode() for message in SIGN_IN_MESSAGES)
    assert "_auth_user_id" not in client.session
    assert row_counts() == {**before, "events": before["events"] + 1}
    failed = AuditEvent.objects.get(action="user.sign_in_failed")
    assert "\x00" not in failed.detail and len(failed.detail) <= 300


def test_a_json_body_to_sign_in_is_an_empty_form(operator):
    client = Client(HTTP_HOST=operator.tenant.host)
    body = {"username": [operator.email], "password": {"$ne": ""}}
    response = client.post("/login/", body, content_type="application/json")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- Generate form: name, expiry, expiry_date ---------------------------------------------


def post_generate(client, **fields):
    data = {"name": "CI", "form_id": uuid.uuid4().hex, **fields}
    return client.post(GENERATE, encode(data), content_type=FORM)


REFUSED_GENERATE = [
    pytest.param({"name": HUGE}, "Use at most 100 characters", id="name-huge"),
    pytest.param({"name": CONTROL}, "control or invisible characters", id="name-control"),
    *(
        pytest.param({"expiry": value}, "Select a valid choice", id=f"expiry-{kind}")
        for kind, value in {**STRINGS, "decimal": "30.0", "2**63": str(2**63)}.items()
        if kind != "empty"
    ),
    *(
        pytest.param(
            {"expiry": "custom", "expiry_date": value},
            "Enter a date as YYYY-MM-DD",
            id=f"date-{kind}",
        )
        for kind, value in {
            **STRINGS,
            "zero-date": "0000-00-00",
            "february-30": "2030-02-30",
            "year-10000": "10000-01-01",
            "2**63": str(2**63),
        }.items()
        if kind != "empty"
    ),
    pytest.param({"expiry": "custom", "expiry_date": EMPTY}, "Choose the date", id="date-empty"),
    pytest.param(
        {"expiry": "custom", "expiry_date": "9999-12-31"}, "at most 10 years", id="date-9999"
    ),
]


@pytest.mark.parametrize(("fields", "message"), REFUSED_GENERATE)
def test_bad_generate_input_is_refused_inline_and_issues_nothing(
    signed_in, operator, fields, message
):
    before = row_counts()
    response = post_generate(signed_in(operator), **fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'class="field-error"' in html
    assert row_counts() == before


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        pytest.param(NON_UTF8, "\ufffd\ufffd", id="non-utf8"),  # arrives as U+FFFD, visible
        pytest.param(SQL, SQL, id="sql"),
        pytest.param(TEMPLATE, TEMPLATE, id="template"),
    ],
)
def test_names_that_look_hostile_are_kept_as_plain_text(signed_in, operator, sent, kept):
    client = signed_in(operator)
    response = post_generate(client, name=sent)
    assert response.status_code == 200
    assert Token.objects.get().name == kept
    for html in (response.content.decode(), client.get(TOKENS).content.decode()):
        assert escape(kept) in html
        assert "<pre>{'" not in html  # {% debug %} was not run


def test_an_empty_expiry_means_no_expiry_where_the_policy_allows(signed_in, operator):
    assert post_generate(signed_in(operator), expiry=EMPTY).status_code == 200
    assert Token.objects.get().expires_at is None


def test_a_json_body_to_generate_issues_nothing(signed_in, operator):
    response = signed_in(operator).post(
        GENERATE, {"name": ["CI"], "expiry": 30}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "Enter a name for the token" in response.content.decode()
    assert not Token.objects.exists()


# --- Token policy form --------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["token_max_lifetime_days", "token_inactive_revoke_days", "token_suspension_revoke_days"],
)
@pytest.mark.parametrize(
    "value",
    [HUGE, NON_UTF8, CONTROL, NUL, SQL, TEMPLATE, str(2**63), str(10**40), "1.5", "+-1"],
    ids=["huge", "non-utf8", "control", "nul", "sql", "template", "2**63", "10**40", "1.5", "+-1"],
)
def test_bad_policy_input_is_refused_and_changes_nothing(
    signed_in, full_admin, tenant, field, value
):
    before = row_counts()
    response = signed_in(full_admin).post(POLICY, encode({field: value}), content_type=FORM)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.token_max_lifetime_days is None and tenant.token_inactive_revoke_days is None
    assert tenant.token_suspension_revoke_days is None
    assert row_counts() == before


@strings("huge", "non-utf8", "nul", "sql", "template")
def test_the_expiry_checkbox_reads_any_value_as_ticked(signed_in, full_admin, tenant, value):
    response = signed_in(full_admin).post(
        POLICY, encode({"token_expiry_required": value}), content_type=FORM
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.token_expiry_required and tenant.token_max_lifetime_days is None


def test_a_json_body_to_the_policy_changes_nothing(signed_in, full_admin, tenant):
    tenant.token_max_lifetime_days = 90
    tenant.save()
    before = row_counts()
    response = signed_in(full_admin).post(
        POLICY, {"token_max_lifetime_days": None}, content_type="application/json"
    )
    assert response.status_code == 200  # the form again, unbound: nothing was submitted
    tenant.refresh_from_db()
    assert tenant.token_max_lifetime_days == 90
    assert row_counts() == before


# --- Identity settings: single sign-on and role mapping -----------------------------------

IDENTITY = "/settings/identity/"
ROLE_MAPPING = IDENTITY + "role-mapping/"
GOOD_MAPPING = {
    "role_source": "roles",
    "full_admin_values": "Portal Admins",
    "security_operator_values": "Operators",
    "security_reader_values": "",
    "default_role": "security_reader",
}
REFUSED_ISSUERS = {
    **STRINGS,
    "userinfo": "https://user:pw@idp.example",
    "user-only": "https://user@idp.example",
    "fragment": "https://idp.example/#top",
    "empty-fragment": "https://idp.example/#",
    "query": "https://idp.example/?tenant=1",
    "long": "https://idp.example/" + "a" * 300,
    "nul-in-path": "https://idp.example/\x00",
    "newline": "https://idp.example/x\r\nX-Injected: 1",
    "space-in-host": "https://idp .example",
    "http": "http://idp.example",
    "ftp": "ftp://idp.example",
    "javascript": "javascript:alert(1)",
    "no-host": "https://",
    "port-zero": "https://idp.example:0",
    "port-too-big": "https://idp.example:99999",
    "public-ipv4": "https://203.0.113.5",
    "loopback-ipv4": "https://127.0.0.1",
    "private-ipv4": "https://10.0.0.1",
    "link-local": "https://169.254.169.254",
    "decimal-ip": "https://2130706433",
    "ipv6": "https://[2001:db8::1]",
    "loopback-ipv6": "https://[::1]",
    "localhost": "https://localhost",
    "unicode-host": "https://exämple.com",
    "unicode-idn": "https://例え.jp",
    "trailing-dot-localhost": "https://localhost.",
}
REFUSED_SSO = [
    *(
        pytest.param("issuer", value, id=f"issuer-{kind}")
        for kind, value in REFUSED_ISSUERS.items()
    ),
    *(
        pytest.param("provider_name", STRINGS[kind], id=f"provider_name-{kind}")
        for kind in ("empty", "huge", "control", "nul")
    ),
    pytest.param("provider_name", "Okta\u202e", id="provider_name-bidi"),
    *(
        pytest.param(name, value, id=f"{name}-{kind}")
        for name in ("client_id", "client_secret")
        for kind, value in STRINGS.items()
        # An empty secret keeps the stored one (test_identity_settings.py).
        if (name, kind) != ("client_secret", "empty")
    ),
    pytest.param("client_id", "id with space", id="client_id-space"),
    pytest.param("client_secret", "é-not-ascii", id="client_secret-non-ascii"),
]


@pytest.fixture
def saved_sso(settings, signed_in, full_admin):
    """A tenant with single sign-on saved, under production rules: only public https
    providers. Returns (client, the saved row's values)."""
    settings.IDENTITY_PROVIDER_PRIVATE_NETWORKS_ALLOWED = False
    client = signed_in(full_admin)
    assert client.post(IDENTITY, GOOD_SSO).status_code == 302
    assert client.post(ROLE_MAPPING, GOOD_MAPPING).status_code == 302
    return client, identity_row()


def identity_row():
    return model_to_dict(IdentitySettings.objects.get())


@pytest.mark.parametrize(("field", "value"), REFUSED_SSO)
def test_bad_sso_settings_are_refused_inline_and_change_nothing(saved_sso, field, value):
    client, saved = saved_sso
    before = row_counts()
    response = client.post(IDENTITY, encode({**GOOD_SSO, field: value}), content_type=FORM)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field-error"' in html and response.context["sso_form"].errors[field]
    assert identity_row() == saved and row_counts() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *(
            pytest.param(name, value, id=f"{name}-{kind}")
            for name in ("role_source", "default_role")
            for kind, value in STRINGS.items()
        ),
        *(
            pytest.param("full_admin_values", STRINGS[kind], id=f"values-{kind}")
            for kind in ("huge", "control", "nul")
        ),
        pytest.param("full_admin_values", "a\u200bb", id="values-invisible"),
        pytest.param(
            "full_admin_values", ",".join(f"v{n}" for n in range(51)), id="values-too-many"
        ),
        pytest.param("full_admin_values", "\n".join(f"v{n}" for n in range(51)), id="values-lines"),
        pytest.param("security_reader_values", "Operators", id="values-another-role"),
        pytest.param("security_operator_values", "ok, bad\x00", id="values-nul-in-list"),
    ],
)
def test_bad_role_mappings_are_refused_inline_and_change_nothing(saved_sso, field, value):
    client, saved = saved_sso
    before = row_counts()
    response = client.post(ROLE_MAPPING, encode({**GOOD_MAPPING, field: value}), content_type=FORM)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field-error"' in html and response.context["mapping_form"].errors[field]
    assert identity_row() == saved and row_counts() == before


@pytest.mark.parametrize(
    ("field", "sent", "kept"),
    [
        pytest.param("provider_name", SQL, SQL, id="provider_name-sql"),
        pytest.param("provider_name", TEMPLATE, TEMPLATE, id="provider_name-template"),
        pytest.param("provider_name", NON_UTF8, "\ufffd\ufffd", id="provider_name-non-utf8"),
        pytest.param("full_admin_values", SQL, [SQL], id="values-sql"),
        pytest.param("full_admin_values", ",,\n ,", [], id="values-only-separators"),
        pytest.param("full_admin_values", "A, A,a", ["A", "a"], id="values-repeated"),
    ],
)
def test_odd_but_valid_identity_values_are_kept_as_plain_text(saved_sso, field, sent, kept):
    client, _ = saved_sso
    page, data = (IDENTITY, GOOD_SSO) if field == "provider_name" else (ROLE_MAPPING, GOOD_MAPPING)
    assert client.post(page, encode({**data, field: sent}), content_type=FORM).status_code == 302
    assert identity_row()[field] == kept
    html = client.get(IDENTITY).content.decode()
    assert "<pre>{'" not in html  # {% debug %} was not run


@strings("huge", "non-utf8", "nul", "sql", "template")
def test_the_identity_checkboxes_read_any_value_as_ticked(saved_sso, value):
    client, _ = saved_sso
    data = {**GOOD_SSO, "sso_enabled": value, "password_sign_in": value}
    assert client.post(IDENTITY, encode(data), content_type=FORM).status_code == 302
    assert identity_row()["sso_enabled"] and identity_row()["password_sign_in"]


def test_a_json_body_to_the_identity_settings_changes_nothing(saved_sso):
    client, saved = saved_sso
    body = {**GOOD_SSO, "issuer": ["http://127.0.0.1"]}
    response = client.post(IDENTITY, body, content_type="application/json")
    assert response.status_code == 400
    assert identity_row() == saved


SAFE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)
URLISH = st.one_of(
    SAFE_TEXT,
    st.builds(
        "{}://{}{}{}".format,
        st.sampled_from(["https", "http", "ftp", "HTTPS", ""]),
        st.sampled_from(["", "user:pw@", "user@"]),
        st.one_of(st.sampled_from(["idp.example", "127.0.0.1", "[::1]", "例え.jp"]), SAFE_TEXT),
        st.one_of(st.sampled_from(["", "/", ":8443/x", "/?q=1", "/#f", ":0"]), SAFE_TEXT),
    ),
)


def test_fuzzed_identity_settings_never_fail_and_never_half_save(saved_sso):
    """Hypothesis fills every field of both identity forms: each answer is a saved change or
    a 400 that changed nothing, and what is saved obeys the forms' rules."""
    client, _ = saved_sso

    @given(
        sso=st.fixed_dictionaries(
            {
                "sso_enabled": st.sampled_from(["", "on"]),
                "provider_name": SAFE_TEXT,
                "issuer": URLISH,
                "client_id": SAFE_TEXT,
                "client_secret": SAFE_TEXT,
                "password_sign_in": st.sampled_from(["", "on"]),
            }
        ),
        mapping=st.fixed_dictionaries(
            {
                "role_source": st.one_of(st.sampled_from(["roles", "title"]), SAFE_TEXT),
                "full_admin_values": SAFE_TEXT,
                "security_operator_values": SAFE_TEXT,
                "security_reader_values": SAFE_TEXT,
                "default_role": st.one_of(st.sampled_from(["security_reader"]), SAFE_TEXT),
            }
        ),
    )
    @hypothesis_settings(
        max_examples=150,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_cleanly(sso, mapping):
        for page, data in ((IDENTITY, sso), (ROLE_MAPPING, mapping)):
            before = identity_row()
            response = client.post(page, data)
            assert response.status_code in (302, 400), response.content[:300]
            if response.status_code == 400:
                assert identity_row() == before
        saved = identity_row()
        if saved["issuer"]:
            assert saved["issuer"].startswith("https://") and "@" not in saved["issuer"]
            assert saved["issuer"].isascii() and "#" not in saved["issuer"]
        for name in ("provider_name", "client_id", "client_secret"):
            assert "\x00" not in saved[name]

    answers_cleanly()


# --- Audit-log filters: page, CSV export and API alike ------------------------------------

BAD_DATES = {
    **{k: v for k, v in STRINGS.items() if k != "empty"},
    "year-10000": "10000-01-01",
    "2**63": str(2**63),
}
REFUSED_FILTERS = [
    *(
        pytest.param("action", value, id=f"action-{kind}")
        for kind, value in STRINGS.items()
        if kind != "empty"
    ),
    pytest.param("user", HUGE, id="user-huge"),
    pytest.param("user", NUL, id="user-nul"),
    pytest.param("token", HUGE, id="token-huge"),
    pytest.param("token", NUL, id="token-nul"),
    *(pytest.param("since", value, id=f"since-{kind}") for kind, value in BAD_DATES.items()),
    *(pytest.param("until", value, id=f"until-{kind}") for kind, value in BAD_DATES.items()),
]


@pytest.fixture
def audited(full_admin, tenant):
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin, subject=full_admin)


@pytest.mark.parametrize(("field", "value"), REFUSED_FILTERS)
def test_bad_audit_filters_are_refused_on_the_page_the_export_and_the_api(
    signed_in, issue, full_admin, audited, field, value
):
    _, secret = issue(full_admin)
    before = row_counts()
    query = "?" + encode({field: value})
    client = signed_in(full_admin)
    page = client.get(AUDIT_LOG + query)
    assert page.status_code == 400 and 'class="field-error"' in page.content.decode()
    export = client.get(AUDIT_CSV + query)
    assert export.status_code == 400 and export["Content-Type"] == "text/plain; charset=utf-8"
    message = export.content.decode()
    assert message.startswith("Nothing was exported. ") and message.count("\n") == 1
    assert message.isprintable() is False and message[:-1].isprintable()  # only its final \n
    assert len(message) < 300
    api = api_client(secret).get(API_AUDIT + query)
    assert api.status_code == 400 and api.json()["detail"].startswith(f"{field}: ")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("field", "value", "finds_all"),
    [
        pytest.param("user", SQL, False, id="user-sql"),
        pytest.param("user", TEMPLATE, False, id="user-template"),
        pytest.param("user", CONTROL, False, id="user-control"),
        pytest.param("user", NON_UTF8, False, id="user-non-utf8"),
        pytest.param("token", SQL, False, id="token-sql"),
        pytest.param("token", TEMPLATE, False, id="token-template"),
        pytest.param("since", "0001-01-01", True, id="since-year-1"),
        pytest.param("until", "9999-12-31", True, id="until-year-9999"),
        pytest.param("since", "9999-12-31", False, id="since-year-9999"),
        pytest.param("until", "0001-01-01", False, id="until-year-1"),
    ],
)
def test_odd_but_valid_audit_filters_are_literal_searches(
    signed_in, issue, full_admin, audited, field, value, finds_all
):
    _, secret = issue(full_admin)
    expected = AuditEvent.objects.count() if finds_all else 0
    query = "?" + encode({field: value})
    page = signed_in(full_admin).get(AUDIT_LOG + query)
    assert page.status_code == 200 and len(page.context["page"].object_list) == expected
    export = signed_in(full_admin).get(AUDIT_CSV + query)
    assert export.status_code == 200
    assert len(b"".join(export.streaming_content).splitlines()) == 1 + expected
    api = api_client(secret).get(API_AUDIT + query)
    assert api.status_code == 200 and api.json()["count"] == expected


# --- Query parameters: ?status=, ?owner=, ?page=, ?page_size= -------------------------------


@strings("huge", "non-utf8", "control", "sql", "template")
def test_an_unknown_status_is_a_clear_400_on_the_page_and_the_api(
    signed_in, issue, operator, value
):
    _, secret = issue(operator)
    query = "?" + encode({"status": value})
    page = signed_in(operator).get(TOKENS + query)
    assert page.status_code == 400 and "Unknown status" in page.content.decode()
    assert len(page.content) < 100_000  # the value is shown cut short, not echoed whole
    api = api_client(secret).get(API_TOKENS + query)
    assert api.status_code == 400 and api.json()["detail"].startswith("status: Unknown status")
    assert len(api.json()["detail"]) < 200


@strings(*STRINGS)
def test_an_unknown_owner_filter_is_ignored(signed_in, full_admin, operator, value):
    TokenFactory(owner=operator, name="listed")
    response = signed_in(full_admin).get(TOKENS + "?" + encode({"owner": value}))
    assert response.status_code == 200
    assert [t.name for t in response.context["page"].object_list] == ["listed"]


PAGE_NUMBERS = {
    **NUMBERS,
    "huge": HUGE,
    "non-utf8": NON_UTF8,
    "nul": NUL,
    "sql": SQL,
    "template": TEMPLATE,
    "decimal": "1.5",
}


@pytest.mark.parametrize("value", PAGE_NUMBERS.values(), ids=PAGE_NUMBERS.keys())
def test_odd_page_numbers_still_show_a_page_of_tokens(signed_in, operator, value):
    TokenFactory.create_batch(2, owner=operator)
    response = signed_in(operator).get(TOKENS + "?" + encode({"page": value}))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 2


@pytest.mark.parametrize("value", PAGE_NUMBERS.values(), ids=PAGE_NUMBERS.keys())
def test_odd_page_numbers_on_the_audit_page_still_show_a_page(signed_in, full_admin, value):
    audit_record(tenant=full_admin.tenant, action="user.signed_in", actor=full_admin)
    response = signed_in(full_admin).get(AUDIT_LOG + "?" + encode({"page": value}))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1


@pytest.mark.parametrize("path", [API_TOKENS, API_AUDIT])
@pytest.mark.parametrize("field", ["page", "page_size"])
@pytest.mark.parametrize("value", PAGE_NUMBERS.values(), ids=PAGE_NUMBERS.keys())
def test_odd_page_numbers_are_400_json_on_the_api(issue, full_admin, path, field, value):
    _, secret = issue(full_admin)
    response = api_client(secret).get(path + "?" + encode({field: value}))
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}: ")
    assert len(response.json()["detail"]) < 200


# --- Path ids: pages and API --------------------------------------------------------------

MALFORMED_IDS = {
    "empty": "",
    "huge": "a" * 1_000_000,
    "non-utf8": "%FF%FE",
    "control": "%07",
    "nul": "%00",
    "sql": quote(SQL, safe=""),
    "template": quote("{{ 7*7 }}", safe=""),
    "minus-one": "-1",
    "2**63": str(2**63),
    "braced-uuid": "%7B" + str(uuid.UUID(int=0)) + "%7D",
}
PAGE_ACTIONS = [
    ("get", ""),  # the token's detail page
    ("get", "revoke/"),
    ("post", "revoke/"),
    ("get", "rotate/"),
    ("post", "rotate/"),
]


@pytest.mark.parametrize(("method", "action"), PAGE_ACTIONS)
@pytest.mark.parametrize("token_id", MALFORMED_IDS.values(), ids=MALFORMED_IDS.keys())
def test_malformed_token_ids_in_page_urls_are_404(signed_in, operator, method, action, token_id):
    TokenFactory(owner=operator)
    before = row_counts()
    response = getattr(signed_in(operator), method)(f"{TOKENS}{token_id}/{action}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert row_counts() == before


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("token_id", MALFORMED_IDS.values(), ids=MALFORMED_IDS.keys())
def test_malformed_token_ids_in_api_urls_are_json_404(issue, operator, method, token_id):
    _, secret = issue(operator)
    before = row_counts()
    response = getattr(api_client(secret), method)(f"{API_TOKENS}{token_id}/")
    assert response.status_code == 404
    assert "detail" in response.json()
    assert row_counts() == before


@pytest.fixture
def foreign_ids(tenant, operator, other_tenant_admin):
    """Ids the operator may not reach, one per reason."""
    own = TokenFactory(owner=operator)
    return {
        "other-tenant": str(TokenFactory(owner=other_tenant_admin).pk),
        "colleague": str(TokenFactory(owner=UserFactory(tenant=tenant)).pk),
        "revoked": str(TokenFactory(owner=operator, revoked_at=timezone.now()).pk),
        "siem": str(TokenFactory(owner=operator, kind=TokenKind.SIEM).pk),
        "unknown": str(uuid.uuid4()),
        "nil": str(uuid.UUID(int=0)),
        "upper-case": str(own.pk).upper(),
    }


FOREIGN = ["other-tenant", "colleague", "revoked", "siem", "unknown", "nil", "upper-case"]


@pytest.mark.parametrize("reason", FOREIGN)
def test_ids_the_user_may_not_reach_are_404_on_every_page(signed_in, operator, foreign_ids, reason):
    client = signed_in(operator)
    before = row_counts()
    for method, action in PAGE_ACTIONS:
        if reason == "revoked" and (method, action) == ("get", ""):
            continue  # its own revoked token's page, read only: test_revoked_tokens
        response = getattr(client, method)(f"{TOKENS}{foreign_ids[reason]}/{action}")
        assert response.status_code == 404, (method, action)
    assert row_counts() == before


@pytest.mark.parametrize("reason", FOREIGN)
def test_ids_the_token_may_not_reach_are_json_404_on_the_api(issue, operator, foreign_ids, reason):
    _, secret = issue(operator)
    client = api_client(secret)
    before = row_counts()
    for method in ("get", "delete"):
        response = getattr(client, method)(f"{API_TOKENS}{foreign_ids[reason]}/")
        assert response.status_code == 404
        assert "detail" in response.json()
    assert row_counts() == before


# --- Management commands ------------------------------------------------------------------

GOOD_PASSWORD = "a long enough passphrase"
COMMAND_SLOTS = {
    "createtenant-slug": lambda v: ["createtenant", v, "--name", "Acme"],
    "createtenant-name": lambda v: ["createtenant", "acme", "--name", v],
    "createtenant-region": lambda v: ["createtenant", "acme", "--name", "Acme", "--region", v],
    "createuser-email": lambda v: [
        "createuser", v, "--tenant", "contoso", "--role", "full_admin", "--password", GOOD_PASSWORD
    ],
    "createuser-tenant": lambda v: [
        "createuser", "a@b.test", "--tenant", v, "--role", "full_admin", "--password", GOOD_PASSWORD
    ],
    "createuser-role": lambda v: [
        "createuser", "a@b.test", "--tenant", "contoso", "--role", v, "--password", GOOD_PASSWORD
    ],
    "createuser-password": lambda v: [
        "createuser", "a@b.test", "--tenant", "contoso", "--role", "full_admin", "--password", v
    ],
    "setrole-email": lambda v: ["setrole", v, "full_admin"],
    "setrole-role": lambda v: ["setrole", "operator@contoso.test", v],
    "deprovisionuser-email": lambda v: ["deprovisionuser", v],
    "generatetoken-email": lambda v: ["generatetoken", v, "--name", "CI"],
    "generatetoken-name": lambda v: ["generatetoken", "operator@contoso.test", "--name", v],
    "generatetoken-days": lambda v: [
        "generatetoken", "operator@contoso.test", "--name", "CI", "--expires-in-days", v
    ],
    "sweeptokens-argument": lambda v: ["sweeptokens", v],
    "sendnotifications-tenant": lambda v: ["sendnotifications", "--tenant", v],
    "sendnotifications-argument": lambda v: ["sendnotifications", v],
}  # fmt: skip
# How an argument that is not UTF-8 reaches Python: decoded with surrogate escapes.
COMMAND_VALUES = {**STRINGS, "non-utf8": os.fsdecode(b"\xff\xfe")}
# What the commands accept on purpose: a display name, a password or a token name may hold
# any printable text, SQL and template syntax included; a password may be long.
ACCEPTED_ARGUMENTS = {
    ("createtenant-name", "sql"): {"tenants": 1},
    ("createtenant-name", "template"): {"tenants": 1},
    ("createuser-password", "huge"): {"users": 1},
    ("createuser-password", "control"): {"users": 1},
    ("createuser-password", "sql"): {"users": 1},
    ("createuser-password", "template"): {"users": 1},
    ("generatetoken-name", "sql"): {"tokens": 1, "events": 1},
    ("generatetoken-name", "template"): {"tokens": 1, "events": 1},
}
COMMAND_CASES = [
    pytest.param(slot, kind, id=f"{slot}-{kind}")
    for slot in COMMAND_SLOTS
    for kind in [*COMMAND_VALUES, *(NUMBERS if slot.endswith(("-days", "-argument")) else [])]
]


@pytest.mark.parametrize(("slot", "kind"), COMMAND_CASES)
def test_bad_command_arguments_get_one_short_line_and_change_nothing(operator, slot, kind):
    value = {**COMMAND_VALUES, **NUMBERS}[kind]
    before = row_counts()
    out = io.StringIO()
    accepted = ACCEPTED_ARGUMENTS.get((slot, kind))
    if accepted:
        call_command(*COMMAND_SLOTS[slot](value), stdout=out)
        assert row_counts() == {k: v + accepted.get(k, 0) for k, v in before.items()}
        return
    with pytest.raises(CommandError) as refused:
        call_command(*COMMAND_SLOTS[slot](value), stdout=out)
    message = str(refused.value)
    assert message and "\n" not in message and len(message) < 300
    assert row_counts() == before


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([b"setrole", b"\xff\xfe@x.test", b"full_admin"], id="non-utf8-bytes"),
        pytest.param([b"createtenant", b"acme", b"--name", b"\x1b[2J\x07"], id="control"),
        pytest.param([b"createuser", b"a" * 100_000, b"--tenant", b"x"], id="100-kb"),
        pytest.param(
            [b"generatetoken", b"a@b.test", b"--name", b"x", b"--expires-in-days", b"1e3"]
        ),
        pytest.param([b"sweeptokens", b"' OR 1=1 --"], id="sql"),
    ],
)
def test_bad_arguments_from_a_real_shell_print_one_line_and_no_traceback(args, shell_env):
    result = subprocess.run(
        [sys.executable.encode(), b"manage.py", *args],
        cwd=ROOT,
        env=shell_env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode != 0
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1 and len(stderr) < 400


# --- Headers: Authorization, Host, X-Forwarded-For ----------------------------------------

NOT_PROVIDED = "Authentication credentials were not provided. Send 'Authorization: Token <token>'."
MALFORMED = "Malformed Authorization header. Send exactly 'Authorization: Token <token>'."
AUTHORIZATION = {
    "empty": ("", NOT_PROVIDED),
    "huge": ("Token " + HUGE, MALFORMED),
    "latin-1-bytes": ("Token \xff\xfe", "Invalid token."),
    "control": ("Token\x07" + "atp_" + "a" * 42, MALFORMED),
    "nul": ("Token atp_" + "\x00" * 42, "Invalid token."),
    "sql": ("Token " + SQL, MALFORMED),
    "sql-one-word": ("Token 'OR'1'='1", "Invalid token."),
    "template": ("Token {{7*7}}", "Invalid token."),
    "wrong-type": ("Token 12345", "Invalid token."),
}


@pytest.mark.parametrize(("header", "detail"), AUTHORIZATION.values(), ids=AUTHORIZATION.keys())
def test_bad_authorization_headers_are_401_json_without_a_query(db, header, detail):
    with CaptureQueriesContext(connection) as queries:
        response = api_client().get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": detail}
    assert len(queries) == 0


BAD_HOSTS = {
    "empty": "",
    "huge": "a" * 1_000_000,
    "control": "portal.localhost\x07",
    "nul": "portal.localhost\x00",
    "latin-1-bytes": "\xff\xfe.portal.localhost",
    "sql": SQL,
    "template": TEMPLATE,
    "bad-port": "portal.localhost:port",
}


@pytest.mark.parametrize("host", BAD_HOSTS.values(), ids=BAD_HOSTS.keys())
def test_bad_host_headers_are_400_html_on_pages_and_json_under_api(db, host):
    page = Client().get("/login/", HTTP_HOST=host)
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
    api = Client().get("/api/v1/me/", HTTP_HOST=host)
    assert api.status_code == 400
    assert api.json() == {"detail": "Bad request."}


def test_a_huge_sub_domain_of_the_portal_is_an_unknown_tenant(db):
    host = "a" * 1_000_000 + ".us.portal.localhost"
    assert Client().get("/login/", HTTP_HOST=host).status_code == 404
    assert Client().get("/api/v1/me/", HTTP_HOST=host).json() == {"detail": "Unknown tenant."}


FORWARDED = {
    "empty": ("", None),
    "huge": (HUGE, None),
    "control": ("203.0.113.5\x07", None),
    "nul": ("203.0.113.5\x00", None),
    "latin-1-bytes": ("\xff\xfe", None),
    "sql": (SQL, None),
    "template": (TEMPLATE, None),
    "out-of-range": ("999.1.1.1", None),
    "only-commas": (", , ,", None),
    "two-hops": ("198.51.100.1, 203.0.113.5", "203.0.113.5"),
    "ipv6": ("2001:db8::1", "2001:db8::1"),
    "scoped-ipv6": ("fe80::1%eth0", "fe80::1"),
}


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXIES = 1


@pytest.mark.parametrize(("header", "address"), FORWARDED.values(), ids=FORWARDED.keys())
def test_a_bad_forwarded_for_is_no_address_on_sign_in_audit(
    behind_one_proxy, operator, header, address
):
    client = Client(HTTP_HOST=operator.tenant.host, HTTP_X_FORWARDED_FOR=header)
    response = client.post("/login/", {"username": operator.email, "password": "wrong"})
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="user.sign_in_failed").client_ip == address


def call_and_flush_usage(settings, issue, owner, forwarded_for):
    settings.TOKEN_LAST_USED_RESOLUTION = 0  # last use written on both calls
    token, secret = issue(owner)
    client = api_client(secret)
    statuses = [
        client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR=forwarded_for).status_code for _ in range(2)
    ]
    pending.flush_all()
    addresses = TokenClientAddress.objects.filter(token=token).values_list("address", flat=True)
    return statuses, list(addresses)


@pytest.mark.parametrize(
    ("header", "address"),
    [v for k, v in FORWARDED.items() if k != "scoped-ipv6"],
    ids=[k for k in FORWARDED if k != "scoped-ipv6"],
)
def test_a_bad_forwarded_for_never_breaks_an_api_call_or_its_usage(
    behind_one_proxy, settings, issue, operator, header, address
):
    statuses, addresses = call_and_flush_usage(settings, issue, operator, header)
    assert statuses == [200, 200]
    assert addresses == ([address] if address else [])


def test_a_scoped_ipv6_forwarded_for_is_recorded_without_its_zone(
    behind_one_proxy, settings, issue, operator
):
    statuses, addresses = call_and_flush_usage(settings, issue, operator, "fe80::1%eth0")
    assert statuses == [200, 200]
    assert addresses == ["fe80::1"]


def test_a_scoped_ipv6_peer_address_is_recorded_without_its_zone(settings, issue, operator):
    # Without proxies the WSGI server's peer address is taken as it is; a link-local peer
    # comes with its zone ("fe80::1%eth0"), which PostgreSQL's inet column refuses.
    settings.TOKEN_LAST_USED_RESOLUTION = 0
    token, secret = issue(operator)
    client = api_client(secret)
    statuses = [client.get("/api/v1/me/", REMOTE_ADDR="fe80::1%eth0").status_code for _ in "ab"]
    pending.flush_all()
    assert statuses == [200, 200]
    addresses = TokenClientAddress.objects.filter(token=token).values_list("address", flat=True)
    assert list(addresses) == ["fe80::1"]
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("header", [h for h, _ in FORWARDED.values()], ids=FORWARDED.keys())
def test_a_bad_forwarded_for_gets_the_same_leak_report_answer(behind_one_proxy, db, header):
    response = api_client().post(
        "/api/v1/tokens/report-leak/",
        {"token": crypto.generate()},
        content_type="application/json",
        HTTP_X_FORWARDED_FOR=header,
    )
    assert response.status_code == 202
