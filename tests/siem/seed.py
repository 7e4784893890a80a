"""The SIEM agent tests' tenant, run inside the server's settings by `manage.py shell -c`
(testbed.throwaway.run_in_portal): each function reads its JSON payload from stdin and prints
one JSON line."""

import json
import sys

from audit.models import AuditEvent, Via
from integrations.models import SiemAgent
from tenants.models import Role, Tenant, User
from tokens.models import TokenKind
from tokens.services import token_issue


def main():
    """A tenant, its full admin's API token and a SIEM agent pointed at the test's rsyslog."""
    payload = json.load(sys.stdin)
    tenant = Tenant.objects.create(slug="siem", name="SIEM test")
    admin = User.objects.create_user("admin@siem.test", None, tenant=tenant, role=Role.FULL_ADMIN)
    api = token_issue(owner=admin, name="automation", via=Via.COMMAND)
    agents = {}
    for name, format in (("Splunk", "cef"), ("Sentinel", "json")):
        issued = token_issue(owner=admin, name=f"SIEM agent: {name}", kind=TokenKind.SIEM)
        SiemAgent.objects.create(
            tenant=tenant,
            name=name,
            token=issued.token,
            created_by=admin,
            format=format,
            host="127.0.0.1",
            port=payload["port"],
        )
        agents[format] = issued.secret
    print(json.dumps({"api": api.secret, "agents": agents}))


def add_agent():
    """One more SIEM agent of the tenant, as the payload describes; its token's secret."""
    payload = json.load(sys.stdin)
    admin = User.objects.get(email="admin@siem.test")
    issued = token_issue(owner=admin, name=f"SIEM agent: {payload['name']}", kind=TokenKind.SIEM)
    SiemAgent.objects.create(
        tenant=admin.tenant,
        name=payload["name"],
        token=issued.token,
        created_by=admin,
        format=payload["format"],
        host="127.0.0.1",
        port=payload["port"],
        tls=payload["tls"],
    )
    print(json.dumps(issued.secret))


def generate():
    """`count` new API tokens of the admin (one audit event each): ids and secrets."""
    payload = json.load(sys.stdin)
    admin = User.objects.get(email="admin@siem.test")
    issued = [
        token_issue(owner=admin, name=f"script {n}", via=Via.COMMAND)
        for n in range(payload["count"])
    ]
    print(json.dumps([{"id": str(i.token.pk), "secret": i.secret} for i in issued]))


def feed_ids():
    """The tenant's audit event ids in feed order: what the receiver must end up with."""
    events = AuditEvent.objects.filter(tenant__slug="siem").order_by("sequence")
    print(json.dumps([str(public_id) for public_id in events.values_list("public_id", flat=True)]))


def agent_health():
    """What the portal knows of each agent from its heartbeats."""
    agents = SiemAgent.objects.filter(tenant__slug="siem").with_health()
    print(
        json.dumps(
            {
                agent.name: {
                    "status": agent.health.label,
                    "version": agent.agent_version,
                    "lag_events": agent.lag_events,
                }
                for agent in agents
            }
        )
    )


def purge_through():
    """Backdate the tenant's events up to the payload's `count`-th newest-but-`keep` and let
    a 30-day retention delete them: the events the agent has not delivered yet among them
    are gone for good."""
    from datetime import timedelta

    from django.utils import timezone

    from audit import retention

    payload = json.load(sys.stdin)
    events = AuditEvent.objects.filter(tenant__slug="siem").order_by("-sequence")
    old = list(events.values_list("pk", flat=True)[payload["keep"] :])
    AuditEvent.objects.filter(pk__in=old).update(created_at=timezone.now() - timedelta(days=400))
    tenant = Tenant.objects.get(slug="siem")
    print(json.dumps(retention.purge(tenant.pk, 30)))
