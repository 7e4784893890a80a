"""Run inside a portal process by tests/test_backup.py (testbed.throwaway.run_in_portal):
tokens in every state, and what the API answers for each."""

import json
import sys
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from audit.models import Via
from tenants.models import Role, Tenant, User
from tenants.services import user_deprovision
from tokens.models import Token, TokenKind
from tokens.services import token_issue, token_revoke, token_rotate

REVOKED = "This token has been revoked."


def seed():
    """Print {secret: [status, token id or detail]}: what /api/v1/me/ must answer."""
    now = timezone.now()
    tenant = Tenant.objects.create(slug="backup", name="Backup")
    elsewhere = Tenant.objects.create(slug="elsewhere", name="Elsewhere")

    def user(email, role, home=tenant):
        return User.objects.create_user(email, None, tenant=home, role=role)

    admin = user("admin@backup.test", Role.FULL_ADMIN)
    reader = user("reader@backup.test", Role.SECURITY_READER)
    former = user("former@backup.test", Role.SECURITY_OPERATOR)
    outsider = user("admin@elsewhere.test", Role.FULL_ADMIN, elsewhere)
    expected = {}

    def issue(owner, name, answer=None, **fields):
        issued = token_issue(owner=owner, name=name, via=Via.COMMAND)
        if fields:
            Token.objects.filter(pk=issued.token.pk).update(**fields)
        expected[issued.secret] = answer or [200, str(issued.token.pk)]
        return issued

    issue(admin, "generated")
    issue(admin, "active", last_used_at=now)
    issue(reader, "inactive", last_used_at=now - timedelta(days=9))
    issue(admin, "expiring", expires_at=now + timedelta(days=30))
    expired_at = now - timedelta(days=1)
    expired = f"This token expired on {expired_at:%Y-%m-%d %H:%M} UTC."
    issue(admin, "expired", [401, expired], expires_at=expired_at, last_used_at=now)
    revoked = issue(admin, "revoked", [401, REVOKED])
    token_revoke(token=revoked.token, by=admin, via=Via.COMMAND)
    rotated = issue(admin, "rotated")
    new = token_rotate(token=rotated.token, by=admin, via=Via.COMMAND)  # no overlap
    expected[rotated.secret] = [
        401,
        "This token value was replaced by a rotation; it stopped working at "
        f"{new.token.previous_valid_until:%Y-%m-%d %H:%M} UTC.",
    ]
    expected[new.secret] = [200, str(new.token.pk)]
    issue(former, "of a deprovisioned owner", [403, "permission denied"])
    user_deprovision(user=former)
    issue(outsider, "of another tenant")
    siem = token_issue(owner=admin, name="siem agent", kind=TokenKind.SIEM, via=Via.COMMAND)
    expected[siem.secret] = [403, "permission denied: this kind of token is not accepted here."]
    print(json.dumps(expected))


def check():
    """Read secrets on stdin; print {secret: [status, token id or detail]} from the real
    middleware stack, as a client of /api/v1/me/ sees it."""
    client = Client(HTTP_HOST="portal.localhost")
    answers = {}
    for secret in json.load(sys.stdin):
        response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {secret}")
        body = response.json()
        detail = body["token"]["id"] if response.status_code == 200 else body["detail"]
        answers[secret] = [response.status_code, detail]
    print(json.dumps(answers))
