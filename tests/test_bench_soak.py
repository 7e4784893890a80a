"""The bench's usage soak (`make bench`, part 9; review 3, finding 2) in miniature: its seed
must give clients tokens that work on their tenants' hosts, its addresses must stay in its
networks of 127/8, and its verdict must fail whatever the finding saw."""

import random
from ipaddress import ip_address, ip_network

import pytest

from bench import report, soak
from tests.api import api_client

SOAK = {
    "seconds": 120.0,
    "tokens": 500,
    "tenants": 20,
    "networks": 180,
    "clients": 6,
    "workers": 2,
    "calls": 9000,
    "calls_per_second": 75.0,
    "statuses": {"200": 7000, "401": 2000},
    "server_errors": 0,
    "failed_connections": 0,
    "answered_200": 7000,
    "revocations": 120,
    "revocations_wanted": 1,
    "revocations_per_second": 1.0,
    "revoke_failures": 0,
    "accepted_after_revocation": 0,
    "rss_mb": [(0, {1: 85.0, 2: 86.0}), (60, {1: 93.0, 2: 92.0}), (115, {1: 96.0, 2: 95.0})],
    "worker_boots_after_start": 0,
    "worker_timeouts": 0,
    "log_errors": 0,
    "requests_answered": 7120,
    "requests_counted": 7120,
    "requests_counted_before_stop": 3500,
    "counts_lost": 0,
    "networks_recorded": 7000,
    "networks_flagged": 6500,
    "new_network_events": 2990,
    "most_events_for_one_token": 6,
}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, "PASS"),
        ({"server_errors": 1}, "FAIL"),
        ({"failed_connections": 1}, "FAIL"),
        ({"worker_boots_after_start": 1}, "FAIL"),
        ({"worker_timeouts": 1}, "FAIL"),
        ({"accepted_after_revocation": 1}, "FAIL"),
        ({"counts_lost": 1467}, "FAIL"),
        ({"most_events_for_one_token": 7}, "FAIL"),
        ({"rss_mb": [(0, {1: 85.0}), (115, {1: 150.0})]}, "FAIL"),
        ({"revocations_per_second": 0.68}, "INVALID"),
    ],
)
def test_the_soak_verdict_fails_what_the_finding_saw(change, status):
    verdicts = report.verdicts({"postgres": {"soak": {**SOAK, **change}}})
    assert [verdict["result"] for verdict in verdicts] == [status]


def test_the_soak_report_says_what_happened_and_a_skip_is_no_verdict():
    text = "\n".join(report.soak_lines("postgres", SOAK))
    assert "9,000 calls in 120 s = 75/s (200: 7,000, 401: 2,000)" in text
    assert "lost 0; 3,500 written before gunicorn stopped" in text
    assert "115 s 96/95" in text
    assert report.verdicts({"sqlite": {"soak": {"skipped": "PostgreSQL only"}}}) == []


def test_every_client_address_is_in_one_of_the_soaks_networks_of_127_8():
    rng = random.Random(1)
    networks = {ip_network(f"{soak.address(rng)}/24", strict=False) for _ in range(5000)}
    assert len(networks) == soak.NETWORKS
    assert all(network.subnet_of(ip_network("127.0.0.0/8")) for network in networks)
    assert ip_network("127.0.0.0/24") not in networks  # where the server listens
    assert all(not ip_address(soak.address(rng)).is_unspecified for _ in range(100))


@pytest.mark.django_db
def test_the_seeded_tokens_work_on_their_tenants_hosts():
    fixtures = soak.seed_soak(tenants=2, tokens=5)
    assert len(fixtures.tokens) == 5 and len(fixtures.hosts) == len(fixtures.admins) == 2
    assert sorted(tenant for _id, _secret, tenant in fixtures.tokens) == [0, 0, 0, 1, 1]
    for token_id, secret, tenant in fixtures.tokens:
        response = api_client(secret, host=fixtures.hosts[tenant]).get("/api/v1/me/")
        assert response.status_code == 200 and response.json()["token"]["id"] == token_id
    token_id, _secret, tenant = fixtures.tokens[-1]
    admin = api_client(fixtures.admins[tenant], host=fixtures.hosts[tenant])
    assert admin.delete(f"/api/v1/tokens/{token_id}/").status_code == 204
