import pytest
from django.test import Client

from tests.factories import TokenFactory, UserFactory
from tokens.models import Token, TokenKind


def revoke_url(token):
    return f"/settings/security-extensions/api-tokens/{token.pk}/revoke/"


def test_an_owner_revokes_its_own_token_with_a_message(signed_in, operator):
    token = TokenFactory(owner=operator, name="CI")
    client = signed_in(operator)
    response = client.post(revoke_url(token))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == operator
    page = client.get(response["Location"]).content.decode()
    assert "Token “CI” was revoked" in page
    assert "No API tokens yet" in page


def test_a_full_admin_revokes_any_token_of_the_tenant(signed_in, full_admin, reader):
    token = TokenFactory(owner=reader)
    assert signed_in(full_admin).post(revoke_url(token)).status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == full_admin


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_others_tokens_are_404_for_operators_and_readers(
    request, signed_in, full_admin, tenant, persona
):
    token = TokenFactory(owner=UserFactory(tenant=tenant))
    client = signed_in(request.getfixturevalue(persona))
    assert client.get(revoke_url(token)).status_code == 404
    assert client.post(revoke_url(token)).status_code == 404
    assert Token.objects.live().count() == 1


def test_another_tenants_token_is_404_even_for_a_full_admin(
    signed_in, full_admin, other_tenant_admin
):
    token = TokenFactory(owner=other_tenant_admin)
    assert signed_in(full_admin).post(revoke_url(token)).status_code == 404
    assert Token.objects.live().count() == 1


def test_revoking_twice_is_404_the_second_time(signed_in, operator):
    token = TokenFactory(owner=operator)
    client = signed_in(operator)
    client.post(revoke_url(token))
    assert client.post(revoke_url(token)).status_code == 404


def test_non_api_tokens_cannot_be_revoked_here(signed_in, full_admin):
    token = TokenFactory(owner=full_admin, kind=TokenKind.SIEM)
    assert signed_in(full_admin).post(revoke_url(token)).status_code == 404


@pytest.mark.parametrize("token_id", ["not-a-uuid", "1", "../../admin"])
def test_malformed_ids_are_404(signed_in, operator, token_id):
    url = f"/settings/security-extensions/api-tokens/{token_id}/revoke/"
    assert signed_in(operator).post(url).status_code == 404


def test_the_confirmation_page_asks_before_revoking(signed_in, operator):
    token = TokenFactory(owner=operator, name="CI")
    response = signed_in(operator).get(revoke_url(token))
    html = response.content.decode()
    assert "Revoke token?" in html and "CI" in html and ">Cancel</a>" in html
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_csrf_token(operator):
    token = TokenFactory(owner=operator)
    client = Client(HTTP_HOST=operator.tenant.host, enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(revoke_url(token)).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_keeps_the_status_filter(signed_in, operator):
    token = TokenFactory(owner=operator)
    response = signed_in(operator).post(revoke_url(token), {"status": "generated"})
    assert response["Location"] == "/settings/security-extensions/api-tokens/?status=generated"


def test_a_bad_status_after_revoking_falls_back_to_all(signed_in, operator):
    token = TokenFactory(owner=operator)
    response = signed_in(operator).post(revoke_url(token), {"status": "bogus"})
    assert response["Location"] == "/settings/security-extensions/api-tokens/"


def test_other_methods_are_refused(signed_in, operator):
    token = TokenFactory(owner=operator)
    assert signed_in(operator).delete(revoke_url(token)).status_code == 405


# --- Back to the same place on the list (UX round 3, finding 10) -------------------------------

LIST = "/settings/security-extensions/api-tokens/"
PLACE = "status=generated&q=ci&sort=name&page=2"


def many_ci_tokens(owner, count=51):
    return [TokenFactory(owner=owner, name=f"ci {n:02}") for n in range(count)]


def test_the_lists_revoke_forms_carry_where_on_the_list_they_are(signed_in, operator):
    many_ci_tokens(operator)
    response = signed_in(operator).get(f"{LIST}?{PLACE}")
    (token,) = response.context["page"].object_list
    html = response.content.decode()
    carried = 'name="back" value="status=generated&amp;q=ci&amp;sort=name&amp;page=2"'
    # The row's plain form (for the page without JavaScript) and the dialog's form.
    row_form = html[html.index(f'action="{revoke_url(token)}"') :].split("</form>", 1)[0]
    assert carried in row_form
    dialog = html[html.index('<dialog id="revoke-dialog"') :].split("</dialog>", 1)[0]
    assert carried in dialog


def test_revoking_returns_to_the_same_filter_search_order_and_page(signed_in, operator):
    token, *_ = many_ci_tokens(operator)
    response = signed_in(operator).post(revoke_url(token), {"back": PLACE})
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?{PLACE}"


def test_without_javascript_the_confirmation_page_carries_the_place_to_its_form_and_cancel(
    signed_in, operator
):
    token = TokenFactory(owner=operator, name="CI")
    client = signed_in(operator)
    place = "status=all&q=ci&owner=deprovisioned&expiring=soon&unused=30"
    shown = place.replace("&", "&amp;")
    html = client.get(revoke_url(token), {"back": place}).content.decode()
    assert f'<input type="hidden" name="back" value="{shown}">' in html
    assert f'<a href="{LIST}?{shown}" class="button">Cancel</a>' in html
    response = client.post(revoke_url(token), {"back": place})
    assert response["Location"] == f"{LIST}?{place}"


@pytest.mark.parametrize(
    ("back", "expected"),
    [
        ("https://evil.example/", ""),
        ("//evil.example/?status=active", ""),
        ("next=https://evil.example/&status=active", "?status=active"),
        ("status=bogus&q=ci", "?status=all&q=ci"),
        ("sort=name;DROP&page=0&owner=root", ""),
        ("page=-2", ""),
        ("page=²", ""),
        ("unused=0&expiring=later", ""),
        ("q=" + "x" * 101, ""),
        ("status=active\r\nLocation: https://evil.example/", ""),
    ],
)
def test_the_place_carried_back_names_only_filters_of_the_tokens_list(
    signed_in, operator, back, expected
):
    token = TokenFactory(owner=operator)
    response = signed_in(operator).post(revoke_url(token), {"back": back})
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{expected}"


def test_rotating_reveals_over_the_same_place_on_the_list(signed_in, operator):
    kept = TokenFactory(owner=operator, name="ci kept")
    TokenFactory(owner=operator, name="other")
    client = signed_in(operator)
    url = f"{LIST}{kept.pk}/rotate/"
    assert (
        'name="back" value="status=all&amp;q=ci&amp;sort=name"'
        in client.get(url, {"back": "q=ci&sort=name"}).content.decode()
    )
    response = client.post(url, {"back": "q=ci&sort=name"})
    assert [t.name for t in response.context["page"].object_list] == ["ci kept"]
    html = response.content.decode()
    assert f'data-list-url="{LIST}?status=all&amp;q=ci&amp;sort=name"' in html
    assert f'<a href="{LIST}?status=all&amp;q=ci&amp;sort=name" class="button primary"' in html
