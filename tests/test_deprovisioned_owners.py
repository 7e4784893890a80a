from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from tests.factories import TokenFactory, UserFactory
from tokens.models import Token
from tokens.services import token_revoke

LIST = "/settings/security-extensions/api-tokens/"
REVOKE_ALL = "/settings/security-extensions/api-tokens/revoke-deprovisioned/"


@pytest.fixture
def former(tenant):
    user = UserFactory(tenant=tenant, email="former@contoso.test")
    TokenFactory.create_batch(2, owner=user)
    user.deprovision()
    return user


def test_full_admins_filter_tokens_of_deprovisioned_owners(signed_in, full_admin, former):
    TokenFactory(owner=full_admin, name="mine")
    response = signed_in(full_admin).get(LIST, {"owner": "deprovisioned"})
    assert {t.owner for t in response.context["page"].object_list} == {former}
    html = response.content.decode()
    assert "Last refused call" in html and "Revoke all 2" in html
    assert 'owner=deprovisioned" aria-current="page">Owner deprovisioned' in html


def test_revoke_all_asks_then_revokes_every_such_token_and_audits(signed_in, full_admin, former):
    client = signed_in(full_admin)
    confirm = client.get(REVOKE_ALL).content.decode()
    assert "2 tokens will be revoked" in confirm
    response = client.post(REVOKE_ALL)
    assert response.status_code == 302
    assert not Token.objects.live().filter(owner=former).exists()
    assert AuditEvent.objects.filter(action="token.revoked", actor=full_admin).count() == 2
    assert "Revoked 2 tokens" in client.get(response["Location"]).content.decode()


def test_revoke_all_leaves_active_owners_and_other_tenants_alone(
    signed_in, full_admin, former, other_tenant
):
    mine = TokenFactory(owner=full_admin)
    outsider = UserFactory(tenant=other_tenant)
    theirs = TokenFactory(owner=outsider)
    outsider.deprovision()
    signed_in(full_admin).post(REVOKE_ALL)
    assert Token.objects.live().filter(pk__in=[mine.pk, theirs.pk]).count() == 2


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_only_full_admins_may_revoke_all(request, signed_in, former, persona):
    client = signed_in(request.getfixturevalue(persona))
    assert client.post(REVOKE_ALL).status_code == 404
    assert Token.objects.live().filter(owner=former).count() == 2


def test_the_revoke_all_button_counts_in_words(signed_in, full_admin, former):
    client = signed_in(full_admin)
    html = client.get(LIST, {"owner": "deprovisioned"}).content.decode()
    assert ">Revoke all 2 tokens</button>" in html and "Revoke all 2<" not in html
    assert ">Revoke all 2 tokens</button>" in client.get(REVOKE_ALL).content.decode()
    token_revoke(token=Token.objects.filter(owner=former).first(), by=full_admin)
    html = client.get(LIST, {"owner": "deprovisioned"}).content.decode()
    assert ">Revoke this token</button>" in html and "Revoke the 1" not in html
    dialog = html[html.index('<dialog id="revoke-all-dialog"') :].split("</dialog>", 1)[0]
    assert ">Revoke the token</button>" in dialog and "the 1 token" not in dialog
    confirm = client.get(REVOKE_ALL).content.decode()
    assert ">Revoke the token</button>" in confirm and "This token will be revoked" in confirm
    assert "Revoke the 1" not in confirm and "1 token will" not in confirm


def test_a_row_names_the_deprovisioned_owner_once_beside_its_usage_status(
    signed_in, full_admin, former
):
    html = signed_in(full_admin).get(LIST).content.decode()
    rows = html.split("<tbody>", 1)[1].split("</tr>")[:2]
    for row in rows:
        assert row.count("Owner deprovisioned") == 1
        assert '<span class="badge badge-generated">Generated</span> <span class="badge ' in row
        assert ">Owner deprovisioned · calls refused</span>" in row
    assert "counted as" not in html and ">Refused<" not in html


def test_the_status_help_says_deprovisioned_owners_tokens_keep_their_status(
    signed_in, full_admin, former
):
    html = signed_in(full_admin).get(LIST).content.decode()
    help_text = html[html.index('id="status-help"') :].split("</p>", 1)[0]
    assert (
        "A token whose owner is deprovisioned keeps its status, and every call with it is "
        "refused." in help_text
    )


def test_an_expired_or_revoked_token_of_a_deprovisioned_owner_has_the_same_flag_on_its_page(
    signed_in, full_admin, former
):
    expired, revoked = Token.objects.filter(owner=former)
    expired.expires_at = timezone.now() - timedelta(days=1)
    expired.save(update_fields=["expires_at"])
    token_revoke(token=revoked, by=full_admin)
    client = signed_in(full_admin)
    page = client.get(f"{LIST}{expired.pk}/").content.decode()
    assert '<span class="badge badge-expired">Expired</span>' in page
    assert page.count("Owner deprovisioned") == 1 and "Owner deprovisioned · calls refused" in page
    page = client.get(f"{LIST}{revoked.pk}/").content.decode()
    assert '<span class="badge badge-revoked">Revoked</span>' in page
    assert page.count("Owner deprovisioned") == 1 and "calls refused" not in page


def test_revoking_all_returns_to_the_same_place_on_the_list(signed_in, full_admin, former):
    client = signed_in(full_admin)
    place = "status=active&q=former&owner=deprovisioned"
    shown = place.replace("&", "&amp;")
    carried = f'<input type="hidden" name="back" value="{shown}">'
    assert carried in client.get(f"{LIST}?{place}").content.decode()
    confirm = client.get(REVOKE_ALL, {"back": place}).content.decode()
    assert carried in confirm
    assert f'<a href="{LIST}?{shown}" class="button">Cancel</a>' in confirm
    assert client.post(REVOKE_ALL, {"back": place})["Location"] == f"{LIST}?{place}"


def test_the_revoke_all_page_cancels_to_the_deprovisioned_owners_tokens_by_default(
    signed_in, full_admin, former
):
    confirm = signed_in(full_admin).get(REVOKE_ALL).content.decode()
    assert (
        f'<a href="{LIST}?status=all&amp;owner=deprovisioned" class="button">Cancel</a>' in confirm
    )


def test_the_revoke_all_button_counts_every_token_it_revokes_not_only_those_listed(
    signed_in, full_admin, former
):
    first, _second = Token.objects.filter(owner=former)
    first.name = "findable"
    first.save(update_fields=["name"])
    client = signed_in(full_admin)
    response = client.get(LIST, {"owner": "deprovisioned", "q": "findable"})
    assert [t.name for t in response.context["page"].object_list] == ["findable"]
    html = response.content.decode()
    assert ">Revoke all 2 tokens</button>" in html and "Revoke this token" not in html
    assert "The button revokes all 2, not only those listed here." in html
    client.post(REVOKE_ALL)
    assert not Token.objects.live().filter(owner=former).exists()
