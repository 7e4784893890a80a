"""The load test's tenant, run inside the server's settings by `manage.py shell -c`.

Prints one JSON line: the full admin's e-mail and password, and tokens (id, secret) that
stay live for the whole run.
"""

import json
import secrets

from audit.models import Via
from tenants.models import Role, Tenant, User
from tokens.services import token_issue

STEADY_TOKENS_PER_USER = 2


def main():
    tenant = Tenant.objects.create(slug="load", name="Load test")
    password = secrets.token_urlsafe(16)
    admin = User.objects.create_user(
        "admin@load.test", password, tenant=tenant, role=Role.FULL_ADMIN
    )
    users = [
        admin,
        User.objects.create_user(
            "operator@load.test", None, tenant=tenant, role="security_operator"
        ),
        User.objects.create_user("reader@load.test", None, tenant=tenant, role="security_reader"),
    ]
    steady = [
        token_issue(owner=user, name=f"steady {user.role} {n}", via=Via.COMMAND)
        for user in users
        for n in range(STEADY_TOKENS_PER_USER)
    ]
    watcher = token_issue(owner=admin, name="watcher", via=Via.COMMAND)
    print(
        json.dumps(
            {
                "host": tenant.host,
                "email": admin.email,
                "password": password,
                "steady": [{"id": str(i.token.pk), "secret": i.secret} for i in steady],
                "watcher": {"id": str(watcher.token.pk), "secret": watcher.secret},
            }
        )
    )
