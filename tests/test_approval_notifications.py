"""E-mails about token requests (CONTRACT §16): one to the requester on each decision, never
with the secret; one daily digest to full admins while requests are pending."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from approvals.models import TokenRequest
from approvals.services import (
    token_request_approve,
    token_request_create,
    token_request_deny,
    token_request_reveal,
)
from notifications.events import due_notifications
from notifications.models import Kind
from tests.factories import UserFactory


def send():
    out = io.StringIO()
    call_command("sendnotifications", stdout=out)
    return out.getvalue()


def pending(requester, name="Nightly export"):
    return token_request_create(
        requester=requester,
        name=name,
        reason="Data lake",
        access="read_write",
        allowed_networks=["10.0.0.0/8"],
        expires_at=timezone.now() + timedelta(days=30),
    )


def approve(request, by, **narrower):
    values = {"access": "read_write", "allowed_networks": request.networks}
    values["expires_at"] = request.expires_at
    return token_request_approve(request=request, by=by, **{**values, **narrower})


@pytest.fixture
def approving(tenant):
    tenant.token_approval_required = True
    tenant.save()
    return tenant


def test_an_approval_mails_the_requester_once_to_reveal_within_7_days(
    approving, operator, full_admin
):
    approve(pending(operator), full_admin, access="read_only", note="Read is enough.")
    mail.outbox.clear()
    send()
    mine = [m for m in mail.outbox if m.to == ["operator@contoso.test"]]
    assert [m.subject for m in mine] == [
        "[Contoso] Your API token request “Nightly export” was approved"
    ]
    body = mine[0].body
    assert "Reveal it on your API tokens page before" in body and "7 days" in body
    assert "read only, not read and write" in body and "Read is enough." in body
    assert "/settings/security-extensions/api-tokens/#token-requests" in body
    send()
    assert len([m for m in mail.outbox if m.to == ["operator@contoso.test"]]) == 1


def test_the_secret_is_never_in_an_email(approving, operator, full_admin):
    request = approve(pending(operator), full_admin)
    secret = token_request_reveal(request=request, by=operator).secret
    # Revealed before the run: no approval mail at all, and no secret in any.
    send()
    assert all(secret not in m.body for m in mail.outbox)
    assert not [m for m in mail.outbox if "was approved" in m.subject]


def test_a_denial_mails_the_requester_with_the_note(approving, operator, full_admin):
    token_request_deny(request=pending(operator), by=full_admin, note="Use the shared one.")
    send()
    denied = [m for m in mail.outbox if "was denied" in m.subject]
    assert len(denied) == 1 and denied[0].to == ["operator@contoso.test"]
    assert "Their note: Use the shared one." in denied[0].body


def test_full_admins_get_one_daily_digest_for_all_pending_requests(
    approving, operator, reader, full_admin
):
    second_admin = UserFactory(tenant=approving, role="full_admin", email="second@contoso.test")
    pending(operator, "One")
    pending(reader, "Two")
    pending(reader, "Three")
    send()
    digests = [m for m in mail.outbox if "waiting for a decision" in m.subject]
    assert sorted(m.to[0] for m in digests) == [full_admin.email, second_admin.email]
    assert digests[0].subject == "[Contoso] 3 API token requests are waiting for a decision"
    assert "/settings/security-extensions/api-tokens/requests/" in digests[0].body
    pending(operator, "Four")
    send()  # the same day: nothing more
    assert len([m for m in mail.outbox if "waiting" in m.subject]) == 2


def test_the_digest_comes_again_the_next_day_while_requests_wait(approving, operator, full_admin):
    pending(operator)
    now = timezone.now()
    assert [d.kind for d in due_notifications(now)] == [Kind.REQUESTS_PENDING]
    send()
    assert list(due_notifications(now)) == []
    tomorrow = [d.kind for d in due_notifications(now + timedelta(days=1))]
    assert tomorrow == [Kind.REQUESTS_PENDING]


def test_no_digest_once_nothing_is_pending(approving, operator, full_admin):
    token_request_deny(request=pending(operator), by=full_admin, note="No.")
    kinds = [d.kind for d in due_notifications(timezone.now())]
    assert Kind.REQUESTS_PENDING not in kinds


def test_old_decisions_get_no_mail(approving, operator, full_admin):
    approve(pending(operator), full_admin)
    TokenRequest.objects.update(decided_at=timezone.now() - timedelta(days=8))
    assert list(due_notifications(timezone.now())) == []


def test_a_deprovisioned_requester_gets_no_mail(approving, operator, full_admin):
    approve(pending(operator), full_admin)
    operator.deprovision()
    assert list(due_notifications(timezone.now())) == []
