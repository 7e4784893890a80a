"""Allowed networks per token (issue 17, CONTRACT §12): a call from outside them is refused on
every path that accepts tokens, audited once per resolution per token and address, and costs
no query when the token is cached."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Action, AuditEvent
from integrations.models import SiemAgent
from tests.api import api_client
from tests.factories import UserFactory
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token, TokenKind
from tokens.services import token_rotate
from web import networks

ME = "/api/v1/me/"
TOKENS_PAGE = "/settings/security-extensions/api-tokens/"
RANGES = ["10.0.0.0/8", "2001:db8::/32"]


def refused_from(address):
    return f"Permission denied: this token is not allowed from {address}."


# -- web.networks ---------------------------------------------------------------------------


def test_entries_are_normalised_deduplicated_and_kept_in_order():
    assert networks.normalised(
        ["10.1.2.3/8", "192.0.2.7", "2001:DB8::1/32", "10.0.0.0/8", "::1", "::ffff:10.0.0.1"]
    ) == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128", "::ffff:a00:1/128"]
    assert networks.split(" 10.0.0.1,\n\n::1 ") == ["10.0.0.1", "::1"]


@pytest.mark.parametrize(
    "value",
    ["10.0.0.300", "10.0.0.0/33", "example.com", "fe80::1%eth0", "1.2.3.4/-1", "::/129", "", "0"],
)
def test_a_bad_entry_is_named_in_the_message(value):
    with pytest.raises(networks.BadNetworks, match="is not an IPv4 or IPv6 address or CIDR range"):
        networks.normalised(["10.0.0.0/8", value])


def test_every_bad_entry_is_named_in_one_message():
    with pytest.raises(networks.BadNetworks) as refused:
        networks.normalised(["10.0.0.300", "10.0.0.0/8", "example.com", "::/129"])
    assert str(refused.value) == (
        "“10.0.0.300”, “example.com” and “::/129” are not IPv4 or IPv6 addresses or CIDR ranges."
    )


def test_past_five_bad_entries_the_rest_are_counted():
    bad = [f"host{n}.example" for n in range(8)]
    with pytest.raises(networks.BadNetworks) as refused:
        networks.normalised(["10.0.0.0/8", *bad])
    assert str(refused.value) == (
        "“host0.example”, “host1.example”, “host2.example”, “host3.example”, “host4.example” "
        "and 3 more are not IPv4 or IPv6 addresses or CIDR ranges."
    )


def test_the_dialog_names_every_bad_network(signed_in, operator):
    response = signed_in(operator).post(
        "/settings/security-extensions/api-tokens/new/",
        {
            "name": "CI",
            "form_id": uuid.uuid4().hex,
            "allowed_networks": "10.0.0.1\n10.0.0.300\nlocalhost",
        },
    )
    assert response.status_code == 400
    assert "“10.0.0.300” and “localhost” are not IPv4 or IPv6 addresses or CIDR ranges." in (
        response.content.decode()
    )


def test_at_most_50_networks():
    fifty = [f"10.0.{n}.0/24" for n in range(50)]
    assert len(networks.normalised(fifty)) == 50
    with pytest.raises(networks.BadNetworks, match=r"at most 50 networks \(this list has 51\)"):
        networks.normalised([*fifty, "192.0.2.0/24"])


# Review 3, finding 1: 40,000 distinct addresses held a worker for 6–26 s (quadratic
# de-duplication, and the maximum checked only after parsing everything). The work is now
# bounded by the maximum, whatever is sent: counted here, not timed.
HUGE = [f"10.{n // 65536}.{n // 256 % 256}.{n % 256}" for n in range(40_000)]


class CountingPattern:
    """web.networks' entry pattern, counting the entries it is asked about."""

    def __init__(self, pattern):
        self.pattern, self.calls = pattern, 0

    def fullmatch(self, value):
        self.calls += 1
        return self.pattern.fullmatch(value)


@pytest.fixture
def parsed_entries(monkeypatch):
    counting = CountingPattern(networks._ENTRY)
    monkeypatch.setattr(networks, "_ENTRY", counting)
    return counting


def test_a_list_over_the_maximum_is_refused_before_any_entry_is_parsed(parsed_entries):
    with pytest.raises(networks.BadNetworks, match=r"at most 50 networks \(this list has 40000\)"):
        networks.normalised(HUGE)
    assert parsed_entries.calls == 0


def test_an_entry_longer_than_any_address_is_refused_unparsed(parsed_entries):
    with pytest.raises(networks.BadNetworks, match="is not an IPv4 or IPv6 address"):
        networks.normalised(["1" * 100_000])
    assert parsed_entries.calls == 0


def test_duplicates_count_towards_the_maximum_and_are_found_in_order():
    assert networks.normalised(["10.0.0.1", "10.0.0.2/24", "10.0.0.1", "10.0.0.9/24"]) == [
        "10.0.0.1/32",
        "10.0.0.0/24",
    ]
    with pytest.raises(networks.BadNetworks, match=r"this list has 51"):
        networks.normalised(["10.0.0.1"] * 51)


def test_a_stored_list_too_long_for_the_maximum_is_refused_unparsed(parsed_entries):
    with pytest.raises(ValidationError, match="at most 50 networks"):
        networks.validate_stored(" ".join(HUGE))
    assert parsed_entries.calls == 0


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.20.30.40", True),
        ("11.0.0.1", False),
        ("2001:db8:1::5", True),
        ("2001:db9::1", False),
        ("::ffff:10.0.0.1", True),  # an IPv4 client seen by a dual-stack socket
        ("::ffff:192.0.2.1", False),
        (None, False),
        ("not an address", False),
    ],
)
def test_addresses_in_and_out_of_ipv4_and_ipv6_ranges(address, allowed):
    assert networks.allows(networks.stored(RANGES), address) is allowed


def test_an_empty_list_allows_anywhere():
    assert networks.allows("", "192.0.2.1") and networks.allows("", None)


# -- the API, the proxies, the audit --------------------------------------------------------


@pytest.fixture
def restricted(operator, issue):
    return issue(operator, allowed_networks=RANGES)


@pytest.mark.parametrize(
    ("address", "status"),
    [("10.9.8.7", 200), ("192.0.2.1", 403), ("2001:db8::7", 200), ("::ffff:10.0.0.1", 200)],
)
def test_api_calls_from_in_and_out_of_the_networks(restricted, address, status):
    _, secret = restricted
    response = api_client(secret).get(ME, REMOTE_ADDR=address)
    assert response.status_code == status
    if status == 403:
        assert response.json()["detail"] == refused_from(address)


@pytest.mark.parametrize(
    ("hops", "forwarded", "peer", "seen"),
    [
        # No trusted proxy: X-Forwarded-For is anyone's to forge, and is ignored.
        (0, "10.0.0.1", "192.0.2.1", "192.0.2.1"),
        (0, "192.0.2.1", "10.0.0.1", None),
        # One proxy: the address it saw, the last entry.
        (1, "10.0.0.1", "198.51.100.1", None),
        (1, "10.0.0.1, 192.0.2.1", "198.51.100.1", "192.0.2.1"),
        # Two: the address the outer one saw; what the client itself sent in front is ignored.
        (2, "192.0.2.9, 10.0.0.1, 198.51.100.2", "198.51.100.1", None),
        (2, "10.0.0.1, 192.0.2.1, 198.51.100.2", "198.51.100.1", "192.0.2.1"),
        # A chain shorter than the proxies it should have passed is no address, never the
        # inner proxy's own (review 3, finding 4).
        (2, "10.0.0.1", "198.51.100.1", "an unknown address"),
        (1, "", "198.51.100.1", "an unknown address"),
        # A peer that is not one of the proxies reached the host around them: the header is
        # its own words, and its address is the peer's (review 3, finding 4).
        (1, "10.20.30.40", "127.0.0.1", "127.0.0.1"),
        (2, "10.0.0.1, 10.0.0.2", "192.0.2.77", "192.0.2.77"),
    ],
)
def test_the_address_is_the_one_behind_the_trusted_proxies(
    restricted, settings, hops, forwarded, peer, seen
):
    settings.TRUSTED_PROXIES = hops
    settings.FORWARDED_ALLOW_IPS = ["198.51.100.0/24"]
    _, secret = restricted
    response = api_client(secret).get(ME, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    if seen is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["detail"] == refused_from(seen)


@pytest.mark.parametrize(
    ("allowed", "peer", "trusted"),
    [
        (["192.0.2.10"], "192.0.2.10", True),
        (["192.0.2.10"], "192.0.2.11", False),
        (["192.0.2.0/24", "2001:db9::/64"], "2001:db9::5", True),
        (["192.0.2.0/24"], "::ffff:192.0.2.7", True),  # a dual-stack socket's IPv4 peer
        (["*"], "198.51.100.1", True),
    ],
)
def test_forwarded_allow_ips_takes_addresses_ranges_and_any(
    restricted, settings, allowed, peer, trusted
):
    settings.TRUSTED_PROXIES = 1
    settings.FORWARDED_ALLOW_IPS = allowed
    _, secret = restricted
    response = api_client(secret).get(ME, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR="10.9.9.9")
    # 10.9.9.9 is inside the token's networks; the peers are not.
    assert response.status_code == (200 if trusted else 403)


def test_the_readmes_production_block_refuses_a_forged_address(restricted, settings):
    # The reviewer's reproduction: TRUSTED_PROXIES=1 FORWARDED_ALLOW_IPS=10.0.0.10, a token
    # allowed from 10.0.0.0/8, a call from 127.0.0.1 claiming to be 10.20.30.40: 200 before.
    settings.TRUSTED_PROXIES = 1
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.10"]
    _, secret = restricted
    forged = api_client(secret).get(ME, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.20.30.40")
    assert forged.status_code == 403
    assert forged.json()["detail"] == refused_from("127.0.0.1")
    through_the_balancer = api_client(secret).get(
        ME, REMOTE_ADDR="10.0.0.10", HTTP_X_FORWARDED_FOR="10.20.30.40"
    )
    assert through_the_balancer.status_code == 200


def test_a_refusal_is_audited_once_per_resolution_per_token_and_address(restricted):
    token, secret = restricted
    client = api_client(secret)
    for address in ["192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.2", "192.0.2.1"]:
        assert client.get(ME, REMOTE_ADDR=address).status_code == 403
    events = AuditEvent.objects.filter(token=token, action=Action.TOKEN_DENIED_NETWORK)
    assert [event.client_ip for event in events.order_by("id")] == [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.1",
    ]
    token.refresh_from_db()
    assert token.last_denied_ip == "192.0.2.1" and token.last_denied_at is not None
    assert token.last_used_at is None  # a refused call is not a use


def test_a_refusal_is_not_a_failed_authentication(restricted, settings):
    settings.API_AUTH_FAILURE_LIMIT = 2
    _, secret = restricted
    client = api_client(secret)
    for _ in range(4):
        assert client.get(ME, REMOTE_ADDR="192.0.2.1").status_code == 403


def test_a_cached_restricted_token_costs_no_query_in_or_out(restricted, caching):
    _, secret = restricted
    client = api_client(secret)
    for address in ["10.0.0.1", "10.0.0.1", "192.0.2.1"]:  # first use; cached; first refusal
        client.get(ME, REMOTE_ADDR=address)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME, REMOTE_ADDR="10.0.0.2").status_code == 200
        assert client.get(ME, REMOTE_ADDR="192.0.2.1").status_code == 403
    assert len(queries) == 0


def test_the_api_shows_the_networks(restricted):
    token, secret = restricted
    client = api_client(secret)
    me = client.get(ME, REMOTE_ADDR="10.0.0.1").json()
    assert me["token"]["allowed_networks"] == RANGES
    detail = client.get(f"/api/v1/tokens/{token.pk}/", REMOTE_ADDR="10.0.0.1").json()
    assert detail["allowed_networks"] == RANGES


def test_rotation_keeps_the_networks(restricted, operator):
    token, _ = restricted
    rotated = token_rotate(token=token, by=operator)
    assert api_client(rotated.secret).get(ME, REMOTE_ADDR="192.0.2.1").status_code == 403


# -- every path that accepts tokens ---------------------------------------------------------


def test_scim_refuses_a_provisioning_token_from_elsewhere_in_scims_format(full_admin, issue):
    _, secret = issue(full_admin, kind=TokenKind.PROVISIONING, allowed_networks=["10.0.0.0/8"])
    client = api_client(secret, scheme="Bearer")
    assert client.get("/scim/v2/Users", REMOTE_ADDR="10.0.0.1").status_code == 200
    response = client.get("/scim/v2/Users", REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 403
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["detail"] == refused_from("192.0.2.1")


@pytest.fixture
def siem_agent_token(full_admin, issue):
    token, secret = issue(full_admin, kind=TokenKind.SIEM, allowed_networks=["10.0.0.0/8"])
    SiemAgent.objects.create(
        tenant=full_admin.tenant, name="agent", token=token, port=514, created_by=full_admin,
        format="cef", host="siem.example",
    )  # fmt: skip
    return api_client(secret)


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/api/v1/siem/heartbeat/"), ("get", "/api/v1/siem/events/")]
)
def test_siem_heartbeats_and_the_feed_refuse_an_agent_token_from_elsewhere(
    siem_agent_token, method, path
):
    # The heartbeat reads a JSON body; the test client would send an empty form.
    body = {"data": "{}", "content_type": "application/json"} if method == "post" else {}
    call = getattr(siem_agent_token, method)
    assert call(path, REMOTE_ADDR="10.0.0.1", **body).status_code == 200
    response = call(path, REMOTE_ADDR="192.0.2.1", **body)
    assert response.status_code == 403
    assert response.json()["detail"] == refused_from("192.0.2.1")


# -- the dialog, the token's page, the command ----------------------------------------------


def generate(client, **fields):
    return client.post(
        f"{TOKENS_PAGE}new/", {"name": "SIEM script", "form_id": uuid.uuid4().hex, **fields}
    )


def test_the_dialog_generates_a_token_with_networks(signed_in, operator):
    response = generate(signed_in(operator), allowed_networks="10.1.2.3/8\n2001:db8::/32")
    token = Token.objects.get(digest=crypto.digest(revealed_value(response)))
    assert token.allowed_networks == RANGES
    assert "It works only from 10.0.0.0/8, 2001:db8::/32." in response.content.decode()
    event = AuditEvent.objects.get(token=token, action=Action.TOKEN_GENERATED)
    assert "Allowed from 10.0.0.0/8, 2001:db8::/32." in event.detail


def test_a_bad_network_in_the_dialog_is_an_inline_error(signed_in, operator):
    response = generate(signed_in(operator), allowed_networks="10.0.0.0/8\n10.0.0.300")
    assert response.status_code == 400
    assert "“10.0.0.300” is not an IPv4 or IPv6 address or CIDR range." in (
        response.content.decode()
    )
    assert not Token.objects.exists()


def test_a_huge_list_in_the_dialog_is_refused_unparsed_even_for_a_reader(
    signed_in, reader, parsed_entries
):
    response = generate(signed_in(reader), allowed_networks="\n".join(HUGE))
    assert response.status_code == 400
    assert "Allow at most 50 networks: this list is" in response.content.decode()
    assert parsed_entries.calls == 0
    assert not Token.objects.exists()


def test_a_huge_list_through_the_api_is_refused_unparsed(restricted, parsed_entries):
    token, secret = restricted
    response = api_client(secret).patch(
        f"/api/v1/tokens/{token.pk}/",
        {"allowed_networks": HUGE},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.1",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "allowed_networks: Allow at most 50 networks (this list has 40000)."
    )
    assert parsed_entries.calls == 0


def test_a_huge_list_in_the_policy_is_refused_unparsed(signed_in, full_admin, parsed_entries):
    response = set_policy(signed_in(full_admin), token_networks="\n".join(HUGE))
    assert response.status_code == 400
    assert "Allow at most 50 networks: this list is" in response.content.decode()
    assert parsed_entries.calls == 0


def test_the_owner_edits_the_networks_on_the_tokens_page(signed_in, operator, restricted):
    token, secret = restricted
    client = signed_in(operator)
    page = client.get(f"{TOKENS_PAGE}{token.pk}/").content.decode()
    assert "<code>10.0.0.0/8</code>, <code>2001:db8::/32</code>" in page
    response = client.post(
        f"{TOKENS_PAGE}{token.pk}/networks/", {"allowed_networks": "192.0.2.0/24"}
    )
    assert response.status_code == 302
    assert api_client(secret).get(ME, REMOTE_ADDR="10.0.0.1").status_code == 403
    assert api_client(secret).get(ME, REMOTE_ADDR="192.0.2.9").status_code == 200
    event = AuditEvent.objects.get(token=token, action=Action.TOKEN_NETWORKS_CHANGED)
    assert event.detail == "Allowed from 192.0.2.0/24 (was 10.0.0.0/8, 2001:db8::/32)."
    assert event.actor == operator


def test_a_full_admin_edits_another_users_networks(signed_in, full_admin, restricted):
    token, _ = restricted
    response = signed_in(full_admin).post(
        f"{TOKENS_PAGE}{token.pk}/networks/", {"allowed_networks": ""}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.allowed_networks == []


def test_a_colleague_cannot_edit_the_networks(signed_in, tenant, restricted):
    colleague = UserFactory(tenant=tenant)
    token, _ = restricted
    response = signed_in(colleague).post(
        f"{TOKENS_PAGE}{token.pk}/networks/", {"allowed_networks": ""}
    )
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.allowed_networks == RANGES


def test_a_bad_network_on_the_tokens_page_is_an_inline_error(signed_in, operator, restricted):
    token, _ = restricted
    response = signed_in(operator).post(
        f"{TOKENS_PAGE}{token.pk}/networks/", {"allowed_networks": "10.0.0.0/40"}
    )
    assert response.status_code == 400
    assert "“10.0.0.0/40” is not an IPv4 or IPv6 address or CIDR range." in (
        response.content.decode()
    )


def test_allowed_networks_is_named_once_on_the_tokens_page(signed_in, operator, restricted):
    token, _ = restricted
    html = signed_in(operator).get(f"{TOKENS_PAGE}{token.pk}/").content.decode()
    assert html.count("Allowed networks") == 1
    assert '<label for="id_allowed_networks">Allowed networks</label>' in html


@pytest.fixture
def expired(restricted):
    token, secret = restricted
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    token.refresh_from_db()
    return token


def test_an_expired_tokens_networks_are_shown_without_an_editor(signed_in, operator, expired):
    html = signed_in(operator).get(f"{TOKENS_PAGE}{expired.pk}/").content.decode()
    assert "<dt>Allowed from</dt><dd><code>10.0.0.0/8</code>, <code>2001:db8::/32</code>" in html
    assert f"{expired.pk}/networks/" not in html and "Save networks" not in html
    assert "Allowed networks" not in html


def test_an_expired_tokens_networks_cannot_be_changed(signed_in, full_admin, expired):
    client = signed_in(full_admin)
    url = f"{TOKENS_PAGE}{expired.pk}/networks/"
    response = client.post(url, {"allowed_networks": "192.0.2.0/24"})
    assert response["Location"] == f"{TOKENS_PAGE}{expired.pk}/"
    assert "has expired, so its allowed networks were not changed" in (
        client.get(response["Location"]).content.decode()
    )
    expired.refresh_from_db()
    assert expired.allowed_networks == RANGES
    assert not AuditEvent.objects.filter(action=Action.TOKEN_NETWORKS_CHANGED).exists()


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_generatetoken_allow(operator):
    value = run(
        "generatetoken", operator.email, "--name", "x", "--allow", "10.0.0.0/8", "--allow",
        "2001:db8::/32",
    )  # fmt: skip
    assert Token.objects.get(digest=crypto.digest(value)).allowed_networks == RANGES


def test_generatetoken_refuses_a_bad_network_in_one_line(operator):
    with pytest.raises(CommandError, match="^--allow: “10.0.0.0/33” is not an IPv4"):
        run("generatetoken", operator.email, "--name", "x", "--allow", "10.0.0.0/33")
    assert not Token.objects.exists()


# -- the tenant's policy --------------------------------------------------------------------

POLICY = f"{TOKENS_PAGE}policy/"


def set_policy(client, **fields):
    return client.post(POLICY, fields)


def test_full_admins_set_the_network_policy(signed_in, full_admin, tenant):
    response = set_policy(
        signed_in(full_admin), token_networks_required="on", token_networks="10.1.0.0/16\n::1"
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.token_networks_required
    assert tenant.token_allowed_networks == ["10.1.0.0/16", "::1/128"]
    event = tenant.audit_events.get(action=Action.POLICY_CHANGED)
    assert event.detail == (
        "Expiry optional, new tokens name allowed networks, "
        "tokens used only from 10.1.0.0/16, ::1/128."
    )
    page = signed_in(full_admin).get(POLICY).content.decode()
    assert "10.1.0.0/16\n::1/128</textarea>" in page


def test_a_bad_network_in_the_policy_is_an_inline_error(signed_in, full_admin, tenant):
    response = set_policy(signed_in(full_admin), token_networks="10.0.0.0/8, 300.1.1.1")
    assert response.status_code == 400
    assert "“300.1.1.1” is not an IPv4 or IPv6 address or CIDR range." in (
        response.content.decode()
    )
    tenant.refresh_from_db()
    assert tenant.token_networks == ""


@pytest.fixture
def tenant_networks(full_admin, tenant, signed_in):
    assert set_policy(signed_in(full_admin), token_networks="10.1.0.0/16").status_code == 302
    tenant.refresh_from_db()
    return tenant


@pytest.mark.parametrize(
    ("own", "address", "status"),
    [
        ([], "10.1.2.3", 200),
        ([], "10.2.0.1", 403),  # outside the tenant's list, though the token has none
        (["10.0.0.0/8"], "10.1.2.3", 200),
        (["10.0.0.0/8"], "10.2.0.1", 403),  # the token allows it, the tenant does not
        (["10.1.2.0/24"], "10.1.3.1", 403),  # the tenant allows it, the token does not
    ],
)
def test_every_token_satisfies_both_its_own_and_the_tenants_networks(
    tenant_networks, operator, issue, own, address, status
):
    _, secret = issue(operator, allowed_networks=own)
    assert api_client(secret).get(ME, REMOTE_ADDR=address).status_code == status


def test_the_tenants_networks_hold_for_tokens_of_every_kind(tenant_networks, full_admin, issue):
    _, secret = issue(full_admin, kind=TokenKind.PROVISIONING)
    client = api_client(secret, scheme="Bearer")
    assert client.get("/scim/v2/Users", REMOTE_ADDR="10.1.0.1").status_code == 200
    assert client.get("/scim/v2/Users", REMOTE_ADDR="192.0.2.1").status_code == 403


def test_a_refusal_by_the_tenants_networks_says_so_in_the_audit(tenant_networks, operator, issue):
    token, secret = issue(operator)
    api_client(secret).get(ME, REMOTE_ADDR="192.0.2.1")
    event = AuditEvent.objects.get(token=token, action=Action.TOKEN_DENIED_NETWORK)
    assert event.detail == "Call refused from 192.0.2.1: not in the tenant's allowed networks."


def test_a_policy_change_reaches_cached_tokens_at_once(
    full_admin, operator, issue, signed_in, caching
):
    _, secret = issue(operator)
    client = api_client(secret)
    for _ in range(2):
        assert client.get(ME, REMOTE_ADDR="192.0.2.1").status_code == 200
    set_policy(signed_in(full_admin), token_networks="10.1.0.0/16")
    assert client.get(ME, REMOTE_ADDR="192.0.2.1").status_code == 403


@pytest.fixture
def networks_required(full_admin, tenant, signed_in):
    assert set_policy(signed_in(full_admin), token_networks_required="on").status_code == 302


def test_required_networks_in_the_dialog(networks_required, signed_in, operator):
    client = signed_in(operator)
    response = generate(client)
    assert response.status_code == 400
    assert "Your organisation requires tokens to name the networks" in response.content.decode()
    assert not Token.objects.exists()
    assert generate(client, allowed_networks="10.0.0.0/8").status_code == 200


def test_required_networks_in_the_command(networks_required, operator):
    with pytest.raises(CommandError, match="^--allow: Your organisation requires"):
        run("generatetoken", operator.email, "--name", "x")


def test_required_networks_cannot_be_emptied_on_the_tokens_page(
    networks_required, signed_in, operator, issue
):
    token, _ = issue(operator, allowed_networks=["10.0.0.0/8"])
    response = signed_in(operator).post(
        f"{TOKENS_PAGE}{token.pk}/networks/", {"allowed_networks": ""}
    )
    assert response.status_code == 400
    token.refresh_from_db()
    assert token.allowed_networks == ["10.0.0.0/8"]


@pytest.mark.parametrize("anywhere", ["0.0.0.0/0", "::/0", "10.0.0.0/8\n0.0.0.0/0", "1.2.3.4/0"])
def test_required_networks_are_not_met_by_every_address(
    networks_required, signed_in, operator, issue, anywhere
):
    # Review 3, finding 9: "must name allowed networks" took 0.0.0.0/0 and ::/0.
    client = signed_in(operator)
    response = generate(client, allowed_networks=anywhere)
    assert response.status_code == 400
    assert "is every address; name the networks themselves." in response.content.decode()
    assert not Token.objects.exists()
    with pytest.raises(CommandError, match="is every address"):
        run("generatetoken", operator.email, "--name", "x", "--allow", anywhere.split()[-1])
    token, _ = issue(operator, allowed_networks=["10.0.0.0/8"])
    page = client.post(f"{TOKENS_PAGE}{token.pk}/networks/", {"allowed_networks": anywhere})
    assert page.status_code == 400
    assert Token.objects.get(pk=token.pk).allowed_networks == ["10.0.0.0/8"]


def test_without_the_policy_every_address_may_be_named(signed_in, operator):
    assert generate(signed_in(operator), allowed_networks="::/0").status_code == 200


def test_a_stored_list_that_is_not_normalised_is_refused_by_model_validation(tenant):
    tenant.token_networks = "10.0.0.1/8"
    with pytest.raises(ValidationError, match="normalised"):
        tenant.full_clean()
    tenant.token_networks = "10.0.0.0/8 ::1/128"
    tenant.full_clean()


def test_a_damaged_stored_list_refuses_rather_than_fails():
    assert not networks.allows("not-a-range", "10.0.0.1")


def test_a_network_change_reaches_cached_tokens_at_once(signed_in, operator, restricted, caching):
    token, secret = restricted
    client = api_client(secret)
    for _ in range(2):
        assert client.get(ME, REMOTE_ADDR="10.0.0.1").status_code == 200
    signed_in(operator).post(f"{TOKENS_PAGE}{token.pk}/networks/", {"allowed_networks": "::1"})
    assert client.get(ME, REMOTE_ADDR="10.0.0.1").status_code == 403
