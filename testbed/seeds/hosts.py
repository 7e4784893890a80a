"""The several-hosts tests' tenants, run inside the servers' settings by `manage.py shell -c`.

Prints one JSON line: a full admin's token, an operator's e-mail, and tokens (id, secret) for
the trials, each used once.
"""

import json
import sys

from audit.models import Via
from tenants.models import Role, Tenant, User
from tokens.models import Token
from tokens.services import token_issue, token_rotate

TRIAL_TOKENS = 40


def main():
    tenant = Tenant.objects.create(slug="hosts", name="Several hosts")
    other = Tenant.objects.create(slug="elsewhere", name="Elsewhere")
    admin = User.objects.create_user("admin@hosts.test", None, tenant=tenant, role=Role.FULL_ADMIN)
    operator = User.objects.create_user(
        "operator@hosts.test", None, tenant=tenant, role=Role.SECURITY_OPERATOR
    )
    other_admin = User.objects.create_user(
        "admin@elsewhere.test", None, tenant=other, role=Role.FULL_ADMIN
    )

    def issue(owner, name):
        issued = token_issue(owner=owner, name=name, via=Via.COMMAND)
        return {"id": str(issued.token.pk), "secret": issued.secret}

    print(
        json.dumps(
            {
                "host": tenant.host,
                "admin": issue(admin, "admin"),
                "operator_email": operator.email,
                "operator": issue(operator, "operator"),
                "trials": [issue(admin, f"trial {n}") for n in range(TRIAL_TOKENS)],
                "other_admin": issue(other_admin, "elsewhere"),
                "other_trials": [issue(other_admin, f"other {n}") for n in range(TRIAL_TOKENS)],
            }
        )
    )


def rotate():
    """Rotate the token whose id comes on stdin; print its new secret."""
    token = Token.objects.get(pk=json.load(sys.stdin))
    print(json.dumps(token_rotate(token=token, by=token.owner, via=Via.COMMAND).secret))
