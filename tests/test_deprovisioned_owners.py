import pytest

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
    assert ">Revoke the 1 token</button>" in html and "Revoke all 1" not in html
    assert ">Revoke the 1 token</button>" in client.get(REVOKE_ALL).content.decode()
