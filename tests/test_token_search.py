"""Search and sort of the tokens page and GET /api/v1/tokens/ (CONTRACT §13)."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api import api_client
from tests.factories import TokenFactory, UserFactory
from tokens.models import SEARCH_MAX_LENGTH, SORT_VALUES, Token, TokenKind

PAGE = "/settings/security-extensions/api-tokens/"
API = "/api/v1/tokens/"


def names(response):
    return [token.name for token in response.context["page"].object_list]


def api_names(response):
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.fixture
def named(full_admin, operator):
    """Tokens told apart by name, owner and hint; one revoked and one of another kind that
    no search may find."""
    now = timezone.now()
    made = {
        "Grafana export": TokenFactory(
            owner=full_admin, hint="atp_aaaa", created_at=now - timedelta(days=3)
        ),
        "nightly backup": TokenFactory(
            owner=operator,
            hint="atp_bbbb",
            created_at=now - timedelta(days=2),
            last_used_at=now - timedelta(days=10),
        ),
        "CI deploy": TokenFactory(
            owner=operator,
            hint="atp_cccc",
            created_at=now - timedelta(days=1),
            last_used_at=now - timedelta(hours=1),
        ),
    }
    for name, token in made.items():
        token.name = name
        token.save(update_fields=["name"])
    TokenFactory(owner=full_admin, name="grafana revoked", hint="atp_dddd", revoked_at=now)
    TokenFactory(owner=full_admin, name="grafana agent", hint="atp_eeee", kind=TokenKind.SIEM)
    return made


# The query set: one definition for the page and the API.


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("grafana", ["Grafana export"]),  # name, any case
        ("  GRAFANA ", ["Grafana export"]),  # trimmed
        ("operator@contoso", ["CI deploy", "nightly backup"]),  # owner e-mail
        ("atp_bb", ["nightly backup"]),  # hint
        ("", ["CI deploy", "Grafana export", "nightly backup"]),  # no filter
        ("%", []),  # LIKE wildcards are matched as characters
        ("a_p", []),  # "atp_…" would match if _ were a wildcard
    ],
)
def test_search_matches_name_owner_email_or_hint(named, q, expected):
    found = Token.objects.api().live().search(q)
    assert sorted(token.name for token in found) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("name", ["CI deploy", "Grafana export", "nightly backup"]),  # any case
        ("-name", ["nightly backup", "Grafana export", "CI deploy"]),
        ("created_at", ["Grafana export", "nightly backup", "CI deploy"]),
        ("-created_at", ["CI deploy", "nightly backup", "Grafana export"]),
        # never used counts as least recently used, on every database
        ("last_used_at", ["Grafana export", "nightly backup", "CI deploy"]),
        ("-last_used_at", ["CI deploy", "nightly backup", "Grafana export"]),
    ],
)
def test_each_sort_orders_the_tokens(named, key, expected):
    assert [t.name for t in Token.objects.api().live().sorted_by(key)] == expected


def test_an_unknown_sort_key_is_refused_by_the_query_set(db):
    with pytest.raises(ValueError):
        Token.objects.sorted_by("digest")


@pytest.mark.parametrize("key", SORT_VALUES)
def test_pages_never_repeat_or_skip_tokens_with_equal_values(issue, full_admin, key):
    same = timezone.now() - timedelta(days=1)
    TokenFactory.create_batch(7, owner=full_admin, name="same", created_at=same, last_used_at=same)
    _, secret = issue(full_admin, name="same")
    seen, url = [], f"{API}?page_size=3&sort={key}"
    while url:
        body = api_client(secret).get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 8


# The page.


def test_the_page_searches_and_keeps_status_and_sort(signed_in, full_admin, named):
    response = signed_in(full_admin).get(
        PAGE, {"q": "operator", "status": "inactive", "sort": "name"}
    )
    assert response.status_code == 200
    assert names(response) == ["nightly backup"]
    html = response.content.decode()
    assert '<label for="token-search">Search tokens</label>' in html
    assert 'type="search" id="token-search" name="q" value="operator"' in html
    assert '<input type="hidden" name="status" value="inactive">' in html
    assert '<input type="hidden" name="sort" value="name">' in html
    # the status links keep the search and the order
    assert f'href="{PAGE}?status=active&amp;q=operator&amp;sort=name"' in html


def test_sortable_headers_toggle_and_say_which_is_sorted(signed_in, full_admin, named):
    client = signed_in(full_admin)
    html = client.get(PAGE).content.decode()
    # default: newest first, so Generated is sorted descending and its link reverses it
    assert (
        f'<th scope="col" aria-sort="descending"><a class="sort-link" href="{PAGE}?status=all'
        in html
    )
    assert f'href="{PAGE}?status=all&amp;sort=created_at">Generated' in html
    assert f'href="{PAGE}?status=all&amp;sort=name">Name' in html
    assert f'href="{PAGE}?status=all&amp;sort=-last_used_at">Last used' in html
    assert html.count("aria-sort=") == 1
    html = client.get(PAGE, {"sort": "name", "q": "a"}).content.decode()
    assert (
        'aria-sort="ascending"><a class="sort-link" '
        f'href="{PAGE}?status=all&amp;q=a&amp;sort=-name"' in html
    )
    assert f'href="{PAGE}?status=all&amp;q=a">Generated' in html  # back to the default order


def test_sorting_tokens_of_deprovisioned_owners_keeps_that_filter(signed_in, full_admin, operator):
    TokenFactory(owner=operator, name="left behind")
    operator.deprovision()
    html = signed_in(full_admin).get(PAGE, {"owner": "deprovisioned", "q": "left"}).content.decode()
    assert f'href="{PAGE}?status=all&amp;q=left&amp;sort=name&amp;owner=deprovisioned">Name' in html
    assert '<input type="hidden" name="owner" value="deprovisioned">' in html


def test_pagination_links_keep_search_sort_and_status(signed_in, operator):
    TokenFactory.create_batch(60, owner=operator, name="match me")
    TokenFactory.create_batch(5, owner=operator, name="other")
    response = signed_in(operator).get(PAGE, {"q": "match", "sort": "-name", "status": "generated"})
    assert len(names(response)) == 50 and set(names(response)) == {"match me"}
    html = response.content.decode()
    assert "Showing 1–50 of 60" in html
    assert (
        f'href="{PAGE}?status=generated&amp;q=match&amp;sort=-name&amp;page=2" rel="next"' in html
    )
    second = signed_in(operator).get(
        PAGE, {"q": "match", "sort": "-name", "status": "generated", "page": 2}
    )
    assert len(names(second)) == 10


def test_no_match_has_its_own_empty_state_with_a_way_back(signed_in, operator, named):
    response = signed_in(operator).get(PAGE, {"q": "zebra", "sort": "name"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No token matches “zebra”" in html
    assert f'<a href="{PAGE}?status=all&amp;sort=name">Clear the search</a>' in html


def test_the_search_is_escaped_on_the_page(signed_in, operator):
    html = signed_in(operator).get(PAGE, {"q": '<b>"x'}).content.decode()
    assert "<b>" not in html.split("<main", 1)[1]
    assert "No token matches “&lt;b&gt;&quot;x”" in html


BAD_PAGE_VALUES = [
    ({"sort": "digest"}, "Unknown sort “digest”: choose name, created_at, last_used_at, -name,"),
    ({"sort": "NAME"}, "Unknown sort “NAME”"),
    ({"sort": "--name"}, "Unknown sort “--name”"),
    ({"sort": "name "}, "Unknown sort “name ”"),
    ({"sort": "last_used"}, "Unknown sort “last_used”"),
    ({"sort": "\x00"}, "Unknown sort"),
    ({"sort": "x" * 5000}, "Unknown sort “xxxxxxxx"),
    (
        {"q": "a" * (SEARCH_MAX_LENGTH + 1)},
        "Search for at most 100 characters (this search has 101).",
    ),
    ({"q": "a\x00b"}, "Searches cannot contain null characters."),
]


@pytest.mark.parametrize(("query", "message"), BAD_PAGE_VALUES)
def test_bad_search_or_sort_on_the_page_is_a_clear_400(signed_in, operator, named, query, message):
    response = signed_in(operator).get(PAGE, {"status": "all", **query})
    assert response.status_code == 400
    html = response.content.decode()
    assert '<p class="alert error" role="alert">' + message in html.replace("&quot;", '"')
    # the list is still shown, as if the bad value had not been given
    assert names(response) == ["CI deploy", "nightly backup"]


def test_bad_status_and_bad_sort_are_both_named(signed_in, operator):
    html = signed_in(operator).get(PAGE, {"status": "x", "sort": "y"}).content.decode()
    assert "Unknown status “x”" in html and "Unknown sort “y”" in html


def test_search_never_crosses_tenants(signed_in, full_admin, other_tenant_admin):
    TokenFactory(owner=other_tenant_admin, name="fabrikam secret", hint="atp_ffff")
    TokenFactory(owner=full_admin, name="ours")
    client = signed_in(full_admin)
    for q in ("fabrikam", "admin@fabrikam.test", "atp_ffff"):
        assert names(client.get(PAGE, {"q": q})) == []
    assert names(client.get(PAGE, {"q": "contoso"})) == ["ours"]  # the owner's e-mail


def test_operators_only_find_their_own_tokens(signed_in, operator, full_admin, reader, named):
    TokenFactory(owner=reader, name="CI reader")
    assert names(signed_in(operator).get(PAGE, {"q": "CI"})) == ["CI deploy"]
    assert names(signed_in(operator).get(PAGE, {"q": "grafana"})) == []
    assert names(signed_in(operator).get(PAGE, {"q": "admin@"})) == []
    assert sorted(names(signed_in(full_admin).get(PAGE, {"q": "CI"}))) == ["CI deploy", "CI reader"]


def test_search_counts_are_their_own_and_follow_writes(signed_in, operator):
    client = signed_in(operator)
    TokenFactory(owner=operator, name="alpha")
    TokenFactory(owner=operator, name="beta")
    assert client.get(PAGE).context["page"].paginator.count == 2
    assert client.get(PAGE, {"q": "alpha"}).context["page"].paginator.count == 1
    TokenFactory(owner=operator, name="alpha two")
    assert client.get(PAGE, {"q": " ALPHA"}).context["page"].paginator.count == 2


def page_queries(client, query):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE, query).status_code == 200
    return len(queries)


@pytest.mark.parametrize("query", [{"q": "token"}, *({"sort": key} for key in SORT_VALUES)])
def test_search_and_sort_query_counts_do_not_grow_with_tokens(signed_in, full_admin, tenant, query):
    owners = [UserFactory(tenant=tenant) for _ in range(3)]
    client = signed_in(full_admin)
    for owner in owners:
        TokenFactory(owner=owner)
    # Some rows at first too: an empty page is not fetched at all.
    few = page_queries(client, {"status": "all", **query})
    for owner in owners:
        TokenFactory.create_batch(60, owner=owner, last_used_at=timezone.now())
    assert page_queries(client, {"status": "all", **query}) == few


# The API.


def test_the_api_searches_sorts_and_filters_like_the_page(issue, signed_in, operator, named):
    _, secret = issue(operator, name="caller")
    client = api_client(secret)
    query = {"q": "e", "sort": "-name", "status": "all"}
    assert api_names(client.get(API, query)) == ["nightly backup", "CI deploy", "caller"]
    assert api_names(client.get(API, {**query, "status": "inactive"})) == ["nightly backup"]
    assert api_names(client.get(API, query)) == names(signed_in(operator).get(PAGE, query))
    assert api_names(client.get(API, {"q": "ATP_CC"})) == ["CI deploy"]


def test_api_links_keep_search_and_sort(issue, operator):
    TokenFactory.create_batch(5, owner=operator, name="match")
    _, secret = issue(operator, name="caller")
    client = api_client(secret, host=operator.tenant.host)
    first = client.get(API, {"q": "match", "sort": "name", "page_size": 2}).json()
    assert first["count"] == 5
    assert parse_qs(urlsplit(first["next"]).query) == {
        "q": ["match"],
        "sort": ["name"],
        "page_size": ["2"],
        "page": ["2"],
    }
    second = client.get(first["next"]).json()
    assert parse_qs(urlsplit(second["previous"]).query)["sort"] == ["name"]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"sort": "digest"}, "sort: Unknown sort “digest”: choose name, created_at,"),
        ({"sort": "-"}, "sort: Unknown sort “-”"),
        ({"sort": "\x00"}, "sort: Unknown sort"),
        ({"q": "a" * 101}, "q: Search for at most 100 characters (this search has 101)."),
        ({"q": "\x00"}, "q: Searches cannot contain null characters."),
        ({"status": "x", "sort": "y"}, "status: Unknown status “x”"),
        ({"q": "ok", "sort": "y", "page": "0"}, "sort: Unknown sort “y”"),
    ],
)
def test_bad_search_or_sort_in_the_api_is_a_clear_400(issue, operator, query, detail):
    _, secret = issue(operator)
    response = api_client(secret).get(API, query)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_api_search_never_crosses_tenants(issue, full_admin, other_tenant_admin):
    TokenFactory(owner=other_tenant_admin, name="fabrikam secret")
    _, secret = issue(full_admin, name="caller")
    for q in ("fabrikam", "secret"):
        assert api_names(api_client(secret).get(API, {"q": q})) == []


def test_sort_links_are_named_after_their_column_and_aria_sort_says_the_order(
    signed_in, full_admin, named
):
    html = signed_in(full_admin).get(PAGE, {"sort": "name"}).content.decode()
    # A screen reader hears "Name, link" in a header whose aria-sort says "sorted ascending":
    # once, not again in the link's name nor in every cell of the column.
    assert "sort descending" not in html and ", sort<" not in html
    assert (
        f'aria-sort="ascending"><a class="sort-link" href="{PAGE}?status=all&amp;sort=-name">Name'
        in html
    )
    assert html.count("aria-sort=") == 1


def test_the_sort_by_control_offers_every_order_and_keeps_the_rest_of_the_list(
    signed_in, full_admin, operator
):
    TokenFactory(owner=operator, name="left behind")
    operator.deprovision()
    query = {"status": "inactive", "q": "left", "sort": "-last_used_at", "owner": "deprovisioned"}
    html = signed_in(full_admin).get(PAGE, {**query, "status": "all"}).content.decode()
    control = html.split('class="sort-control"')[1].split("</form>")[0]
    assert '<label for="token-sort">Sort by</label>' in control
    values = re.findall(r'<option value="([^"]+)"', control)
    assert sorted(values) == sorted(SORT_VALUES)
    assert '<option value="-last_used_at" selected>' in control
    for name, value in (("status", "all"), ("q", "left"), ("owner", "deprovisioned")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in control
    assert 'name="sort" value=' not in control  # the select is the sort


def test_the_revoked_list_offers_no_sort(signed_in, full_admin, operator):
    token = TokenFactory(owner=operator, name="gone")
    token.revoke(by=full_admin)
    html = signed_in(full_admin).get(PAGE, {"revoked": "1"}).content.decode()
    assert "sort-control" not in html
