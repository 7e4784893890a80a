"""scim2-tester against the live server: discovery, CRUD, PATCH add/remove/replace, search.

docs/identity.md records the result. The test fails on any ERROR or CRITICAL finding.
"""

from collections import Counter

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tenants.models import Role
from tests.factories import TenantFactory, UserFactory
from tokens.models import TokenKind
from tokens.services import token_issue

FAILING = {Status.ERROR, Status.CRITICAL}


@pytest.fixture
def scim_client(live_server, transactional_db):
    tenant = TenantFactory(slug="conformance")
    admin = UserFactory(tenant=tenant, role=Role.FULL_ADMIN, email="admin@conformance.example")
    secret = token_issue(owner=admin, name="scim2-tester", kind=TokenKind.PROVISIONING).secret
    http = httpx2.Client(
        # 127.0.0.1, not localhost: no IPv6 attempt before each connection.
        base_url=f"{live_server.url.replace('localhost', '127.0.0.1')}/scim/v2",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    with http:
        yield SyncSCIMClient(http)


# Where the portal departs from what scim2-tester expects, on purpose. The tester fills a
# user with random values, `active: false` among them half the time, then removes `active`
# and expects it to read back absent; the portal keeps a deprovisioned user deprovisioned
# until an explicit `active: true` (security review 2, finding 6), and says so:
# test_scim.py::test_removing_active_keeps_a_deprovisioned_user_deprovisioned.
DEVIATIONS = {"check_remove_attribute: Attribute 'active' was not removed"}


def test_scim2_tester_finds_no_error(scim_client):
    results = check_server(scim_client)
    statuses = Counter(result.status.name for result in results)
    failures = [
        f"{result.title}: {result.reason}"
        for result in results
        if result.status in FAILING and f"{result.title}: {result.reason}" not in DEVIATIONS
    ]
    print(dict(statuses))  # noqa: T201 - shown with -s; recorded in docs/identity.md
    for result in results:
        if result.status == Status.SKIPPED:
            print("SKIPPED", result.title, result.reason)  # noqa: T201
    assert failures == []
    assert statuses["SUCCESS"] > 20
