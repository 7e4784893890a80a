"""The creation policy (CONTRACT §16): who may have API tokens, and whether they must ask."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from tenants.models import TokenCreators
from tenants.permissions import (
    may_generate_tokens,
    must_request_tokens,
    token_creation_refusal,
)
from tokens.models import Token

LIST = "/settings/security-extensions/api-tokens/"
GENERATE = LIST + "new/"
POLICY = LIST + "policy/"


def set_policy(tenant, creators=TokenCreators.EVERYONE, approval=False):
    tenant.token_creators, tenant.token_approval_required = creators, approval
    tenant.save()


def test_by_default_everyone_generates_freely(full_admin, operator, reader):
    for user in (full_admin, operator, reader):
        assert may_generate_tokens(user) and not must_request_tokens(user)
        assert token_creation_refusal(user) is None


@pytest.mark.parametrize(
    ("creators", "approval", "expected"),
    [
        (TokenCreators.EVERYONE, True, ("generate", "request", "request")),
        (TokenCreators.OPERATORS, False, ("generate", "generate", "refused")),
        (TokenCreators.OPERATORS, True, ("generate", "request", "refused")),
        (TokenCreators.FULL_ADMINS, False, ("generate", "refused", "refused")),
        (TokenCreators.FULL_ADMINS, True, ("generate", "refused", "refused")),
    ],
)
def test_the_policy_decides_who_generates_requests_or_is_refused(
    tenant, full_admin, operator, reader, creators, approval, expected
):
    set_policy(tenant, creators, approval)

    def what(user):
        if may_generate_tokens(user):
            return "generate"
        return "request" if must_request_tokens(user) else "refused"

    assert (what(full_admin), what(operator), what(reader)) == expected


def test_the_refusal_names_the_policy(tenant, reader, operator):
    set_policy(tenant, TokenCreators.OPERATORS)
    assert token_creation_refusal(reader) == (
        "Contoso's token policy lets only security operators and full admins have API tokens."
    )
    set_policy(tenant, TokenCreators.FULL_ADMINS)
    assert token_creation_refusal(operator) == (
        "Contoso's token policy lets only full admins have API tokens."
    )


def test_a_refused_person_sees_no_generate_button_but_the_note(tenant, signed_in, reader):
    set_policy(tenant, TokenCreators.OPERATORS)
    html = signed_in(reader).get(LIST).content.decode()
    assert "Generate new token" not in html and 'id="generate-dialog"' not in html
    assert "lets only security operators and full admins have API tokens" in html


def test_a_refused_generate_post_makes_nothing_and_says_why(tenant, signed_in, reader):
    set_policy(tenant, TokenCreators.OPERATORS)
    response = signed_in(reader).post(GENERATE, {"name": "x", "form_id": uuid.uuid4().hex})
    assert response.status_code == 403
    assert "lets only security operators and full admins" in response.content.decode()
    assert not Token.objects.exists()


def test_a_generate_post_of_someone_who_must_request_makes_nothing(tenant, signed_in, operator):
    set_policy(tenant, approval=True)
    response = signed_in(operator).post(GENERATE, {"name": "x", "form_id": uuid.uuid4().hex})
    assert response.status_code == 403
    assert "request one instead" in response.content.decode()
    assert not Token.objects.exists()


def test_full_admins_generate_whatever_the_policy(tenant, signed_in, full_admin):
    set_policy(tenant, TokenCreators.FULL_ADMINS, approval=True)
    response = signed_in(full_admin).post(GENERATE, {"name": "x", "form_id": uuid.uuid4().hex})
    assert response.status_code == 200 and Token.objects.filter(owner=full_admin).exists()


def test_generatetoken_refuses_with_one_line_naming_the_policy(tenant, reader):
    set_policy(tenant, TokenCreators.FULL_ADMINS)
    with pytest.raises(CommandError) as refused:
        call_command("generatetoken", reader.email, "--name", "x", stdout=io.StringIO())
    assert str(refused.value) == (
        "reader@contoso.test: Contoso's token policy lets only full admins have API tokens."
    )
    assert not Token.objects.exists()


def test_generatetoken_keeps_working_by_default(operator):
    out = io.StringIO()
    call_command("generatetoken", operator.email, "--name", "x", stdout=out)
    assert out.getvalue().startswith("atp_")


def test_full_admins_set_the_creation_policy_and_it_is_audited(signed_in, full_admin, tenant):
    response = signed_in(full_admin).post(
        POLICY, {"token_creators": "operators", "token_approval_required": "on"}
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.token_creators == "operators" and tenant.token_approval_required
    event = tenant.audit_events.get(action="tenant.policy_changed")
    assert "tokens only for security operators and full admins" in event.detail
    assert "new tokens need a full admin's approval" in event.detail


def test_the_policy_page_shows_the_creation_policy(signed_in, full_admin):
    html = signed_in(full_admin).get(POLICY).content.decode()
    assert "Who may have API tokens" in html and "approval" in html


def test_an_unknown_creators_value_is_a_400_with_the_form(signed_in, full_admin, tenant):
    response = signed_in(full_admin).post(POLICY, {"token_creators": "robots"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
