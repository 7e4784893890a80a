"""Revoked tokens for full admins' investigations (issue 20, item 6): a Revoked filter on the
API tokens page and a read-only page per revoked token; everyone else gets the styled 404,
and every other filter still drops a revoked token at once (CONTRACT §4)."""

import re

import pytest

from audit.models import Via
from tests.factories import TokenFactory, UserFactory
from tokens.models import TokenKind
from tokens.services import token_revoke

LIST = "/settings/security-extensions/api-tokens/"


def names(response):
    return [t.name for t in response.context["page"].object_list]


def revoked(owner, name, by=None, via=Via.PAGE):
    token = TokenFactory(owner=owner, name=name)
    assert token_revoke(token=token, by=by, via=via)
    token.refresh_from_db()
    return token


def test_full_admins_have_a_revoked_filter_with_who_and_when(signed_in, full_admin, operator):
    TokenFactory(owner=operator, name="live")
    revoked(operator, "leaked", by=full_admin)
    revoked(operator, "expired long ago", via=Via.SWEEP)
    response = signed_in(full_admin).get(LIST, {"revoked": "1"})
    assert response.status_code == 200
    assert names(response) == ["expired long ago", "leaked"]  # newest revocation first
    html = response.content.decode()
    assert (
        f'href="{LIST}?revoked=1" aria-current="page">Revoked <span class="count">2</span>' in html
    )
    assert "by admin@contoso.test" in html and "by the daily sweep" in html
    assert '<th scope="col">Revoked</th>' in html
    assert ">Revoke<" not in html and ">Rotate<" not in html  # read-only: no row buttons


def test_the_other_filters_still_drop_revoked_tokens(signed_in, full_admin):
    TokenFactory(owner=full_admin, name="live")
    revoked(full_admin, "gone", by=full_admin)
    for query in ({}, {"status": "generated"}, {"status": "all", "owner": "deprovisioned"}):
        assert "gone" not in names(signed_in(full_admin).get(LIST, query))


def test_others_get_no_revoked_filter_and_no_revoked_tokens(signed_in, operator, full_admin):
    TokenFactory(owner=operator, name="live")
    revoked(operator, "mine, revoked", by=operator)
    response = signed_in(operator).get(LIST, {"revoked": "1"})
    assert names(response) == ["live"]
    assert "?revoked=1" not in response.content.decode()


def test_the_revoked_filter_is_the_tenants_api_tokens_only(
    signed_in, full_admin, other_tenant_admin
):
    revoked(other_tenant_admin, "fabrikam's", by=other_tenant_admin)
    gone = TokenFactory(owner=full_admin, name="agent", kind=TokenKind.SIEM)
    token_revoke(token=gone, by=full_admin)
    response = signed_in(full_admin).get(LIST, {"revoked": "1"})
    assert names(response) == []
    assert "No revoked tokens" in response.content.decode()


def test_a_revoked_tokens_page_is_read_only_for_full_admins(signed_in, full_admin, tenant):
    former = UserFactory(tenant=tenant, email="former@contoso.test")
    token = revoked(former, "legacy", by=full_admin)
    response = signed_in(full_admin).get(f"{LIST}{token.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="badge badge-revoked">Revoked</span>' in html
    assert re.search(r"Revoked <time[^>]*>[^<]*</time> by admin@contoso.test", html)
    assert "Token revoked" in html  # its history
    assert ">Revoke</button>" not in html and ">Rotate</button>" not in html


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_an_owner_opens_its_own_revoked_tokens_page_read_only(
    request, signed_in, full_admin, persona
):
    owner = request.getfixturevalue(persona)
    token = revoked(owner, "mine", by=full_admin)
    response = signed_in(owner).get(f"{LIST}{token.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="badge badge-revoked">Revoked</span>' in html
    assert re.search(r"Revoked <time[^>]*>[^<]*</time> by admin@contoso.test", html)
    assert "Token revoked" in html  # its history
    assert ">Revoke</button>" not in html and ">Rotate</button>" not in html
    assert f"{token.pk}/networks/" not in html and "Save networks" not in html
    # Its breadcrumb leads to the list it has, which has no Revoked filter.
    assert f'<li><a href="{LIST}">API tokens</a></li>' in html


def test_a_revoked_tokens_page_is_the_styled_404_for_others(signed_in, operator, tenant):
    colleague = UserFactory(tenant=tenant, role="security_operator")
    token = revoked(colleague, "theirs", by=colleague)
    response = signed_in(operator).get(f"{LIST}{token.pk}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist, or is for full admins of Contoso." in html
    assert 'class="topbar"' in html


def test_a_revoked_token_of_another_tenant_is_404_for_full_admins(
    signed_in, full_admin, other_tenant_admin
):
    token = revoked(other_tenant_admin, "theirs", by=other_tenant_admin)
    assert signed_in(full_admin).get(f"{LIST}{token.pk}/").status_code == 404


@pytest.mark.parametrize("persona", ["full_admin", "operator"])
def test_revoke_rotate_and_networks_of_a_revoked_token_stay_404(
    request, signed_in, full_admin, persona
):
    owner = request.getfixturevalue(persona)
    token = revoked(owner, "gone", by=full_admin)
    client = signed_in(owner)
    for action in ("revoke", "rotate", "networks", "review-networks"):
        assert client.post(f"{LIST}{token.pk}/{action}/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_by == full_admin and token.networks == ""


def test_the_revoked_count_follows_a_revocation_at_once(signed_in, full_admin, caching):
    token = TokenFactory(owner=full_admin, name="soon gone")
    client = signed_in(full_admin)
    assert client.get(LIST).context["statuses"]["revoked"] == 0
    client.post(f"{LIST}{token.pk}/revoke/")
    assert client.get(LIST).context["statuses"]["revoked"] == 1
