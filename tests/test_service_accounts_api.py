"""The service accounts in the API (CONTRACT §15, issue 28 item 1): GET /api/v1/service-accounts/
and GET /api/v1/service-accounts/{name}/tokens/, for full admins' tokens; every answer is also
held to the OpenAPI document (conftest)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Role
from tenants.services import service_account_create, user_deprovision
from tests.api import api_client
from tokens.services import token_issue, token_revoke

ACCOUNTS = "/api/v1/service-accounts/"


def tokens_of(name):
    return f"{ACCOUNTS}{name}/tokens/"


def iso(value):
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def account(full_admin):
    return service_account_create(
        tenant=full_admin.tenant,
        name="ci-deploy",
        role=Role.SECURITY_OPERATOR,
        sponsor=full_admin,
        description="Deploys from CI",
    )


@pytest.fixture
def admin(issue, full_admin):
    return api_client(issue(full_admin, name="Admin script")[1])


def test_full_admins_list_the_accounts_with_their_sponsor_and_live_tokens(admin, account):
    token_issue(owner=account.user, name="one")
    token_issue(owner=account.user, name="two")
    token_revoke(token=token_issue(owner=account.user, name="gone").token)
    body = admin.get(ACCOUNTS).json()
    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "name": "ci-deploy",
                "description": "Deploys from CI",
                "role": "security_operator",
                "sponsor": "admin@contoso.test",
                "sponsor_missing_since": None,
                "tokens_refused_from": None,
                "created_at": iso(account.created_at),
                "live_tokens": 2,
            }
        ],
    }


def test_an_account_without_a_sponsor_says_since_when_and_when_its_tokens_stop(
    full_admin, operator, issue, account
):
    full_admin.tenant.service_account_sponsor_grace_days = 10
    full_admin.tenant.save()
    operator.set_role(Role.FULL_ADMIN)
    client = api_client(issue(operator)[1])
    user_deprovision(user=full_admin)
    account.user.refresh_from_db()
    since = account.user.sponsor_missing_since
    [item] = client.get(ACCOUNTS).json()["results"]
    assert item["sponsor"] == "admin@contoso.test"  # the one who was
    assert item["sponsor_missing_since"] == iso(since)
    assert item["tokens_refused_from"] == iso(since + timedelta(days=10))


def test_the_list_is_by_name_paginated_and_the_tenants_only(
    admin, full_admin, other_tenant_admin, account
):
    for name in ("zeta", "alpha"):
        service_account_create(
            tenant=full_admin.tenant, name=name, role=Role.SECURITY_READER, sponsor=full_admin
        )
    service_account_create(
        tenant=other_tenant_admin.tenant,
        name="theirs",
        role=Role.FULL_ADMIN,
        sponsor=other_tenant_admin,
    )
    first = admin.get(ACCOUNTS, {"page_size": 2}).json()
    assert first["count"] == 3 and [a["name"] for a in first["results"]] == ["alpha", "ci-deploy"]
    assert first["next"].endswith(f"{ACCOUNTS}?page_size=2&page=2")
    second = admin.get(first["next"]).json()
    assert [a["name"] for a in second["results"]] == ["zeta"] and second["next"] is None


def test_the_list_costs_the_same_queries_for_one_account_as_for_many(admin, full_admin, account):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(ACCOUNTS).status_code == 200
        return len(captured)

    token_issue(owner=account.user, name="one")
    admin.get(ACCOUNTS)  # the calling token's first use is a write
    one = queries()
    for n in range(5):
        other = service_account_create(
            tenant=full_admin.tenant, name=f"robot-{n}", role=Role.SECURITY_READER,
            sponsor=full_admin,
        )  # fmt: skip
        token_issue(owner=other.user, name="a")
        token_issue(owner=other.user, name="b")
    assert queries() == one


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_other_roles_get_403_for_the_list_and_404_for_an_accounts_tokens(
    request, issue, account, persona
):
    client = api_client(issue(request.getfixturevalue(persona))[1])
    refused = client.get(ACCOUNTS)
    assert refused.status_code == 403 and "for full admins' tokens" in refused.json()["detail"]
    hidden = client.get(tokens_of("ci-deploy"))
    assert hidden.status_code == 404 and hidden.json() == {"detail": "No such service account."}


def test_another_tenants_admin_sees_neither_the_account_nor_its_tokens(
    issue, other_tenant_admin, account
):
    token_issue(owner=account.user, name="one")
    client = api_client(issue(other_tenant_admin)[1])
    assert client.get(ACCOUNTS).json()["count"] == 0
    assert client.get(tokens_of("ci-deploy")).status_code == 404


def test_an_accounts_tokens_are_its_live_ones_as_the_token_list_gives_them(
    admin, full_admin, account
):
    token_issue(owner=account.user, name="one")
    token_issue(owner=account.user, name="two")
    token_revoke(token=token_issue(owner=account.user, name="gone").token)
    token_issue(owner=full_admin, name="a person's")
    body = admin.get(tokens_of("ci-deploy")).json()
    everyone = admin.get("/api/v1/tokens/").json()["results"]
    assert body["results"] == [t for t in everyone if t["service_account"] == "ci-deploy"]
    assert [t["name"] for t in body["results"]] == ["two", "one"]
    assert body["count"] == admin.get(ACCOUNTS).json()["results"][0]["live_tokens"] == 2


def test_an_accounts_tokens_take_the_token_lists_parameters(admin, account):
    used = token_issue(owner=account.user, name="used").token
    used.last_used_at = timezone.now()
    used.save()
    token_issue(owner=account.user, name="fresh")
    generated = admin.get(tokens_of("ci-deploy"), {"status": "generated"}).json()
    assert [t["name"] for t in generated["results"]] == ["fresh"]
    by_name = admin.get(tokens_of("ci-deploy"), {"sort": "name", "q": "e"}).json()
    assert [t["name"] for t in by_name["results"]] == ["fresh", "used"]
    assert admin.get(tokens_of("ci-deploy"), {"page_size": 1}).json()["next"] is not None


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ({"page": "x"}, 400, "page: Enter a whole number of 1 or more."),
        ({"page": "0"}, 400, "page: "),
        ({"page": "1e3"}, 400, "page: Enter a whole number of 1 or more."),
        ({"page_size": "201"}, 400, "page_size: "),
        ({"page": "99"}, 404, "Page 99 does not exist; there are 1."),
    ],
)
def test_a_bad_page_is_a_clear_error_on_both_lists(admin, account, query, status, detail):
    for url in (ACCOUNTS, tokens_of("ci-deploy")):
        response = admin.get(url, query)
        assert response.status_code == status and response.json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"status": "bogus"}, "status: Unknown status “bogus”"),
        ({"sort": "owner"}, "sort: Unknown sort “owner”"),
        ({"q": "x" * 101}, "q: Search for at most 100 characters"),
    ],
)
def test_a_bad_filter_on_an_accounts_tokens_is_a_400(admin, account, query, detail):
    response = admin.get(tokens_of("ci-deploy"), query)
    assert response.status_code == 400 and response.json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    "name",
    ["nope", "CI-DEPLOY", "ci deploy", "-ci", "a" * 64, "%00", "ci-deploy%0A", "ci-d%C3%A9ploy"],
)
def test_a_name_no_account_has_is_a_404_never_a_500(admin, account, name):
    with CaptureQueriesContext(connection) as queries:
        response = admin.get(tokens_of(name))
    assert response.status_code == 404 and response.json() == {"detail": "No such service account."}
    assert not [q for q in queries if "\x00" in q["sql"]]
