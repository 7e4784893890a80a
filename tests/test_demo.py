"""manage.py demo tells one story (UX round 3, findings 4 and 16): every token's history, dates,
addresses and day counts agree with each other, and the SIEM agents show every health state.

The demo is every evaluator's first minute: a "Token generated" event saying "No expiry." for
an expired token, or "generated 13 minutes ago" beside "Generated 1 year ago", reads as a bug.
"""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import Action, AuditCounter, AuditEvent
from integrations.models import LogCollector, SiemAgent, SiemHealth
from tenants.models import Role, ServiceAccount, Tenant, User
from tokens import usage
from tokens.models import Token, TokenClientAddress, TokenNetwork, TokenUsage
from web.networks import sighting_network

MINUTE = timedelta(minutes=1)
SIEM_PAGE = "/settings/security-extensions/siem-agents/"
ADMIN = "admin@contoso.example"


def near(one, other):
    """Within the same minute: the story is dated to the second, the checks need not be."""
    return abs(one - other) < MINUTE


@pytest.fixture
def contoso(db):
    call_command("demo", stdout=io.StringIO())
    return Tenant.objects.get(slug="contoso")


@pytest.fixture
def tokens(contoso):
    """Every token of the demo: API tokens, and those of its SIEM agents and log collectors."""
    return list(Token.objects.filter(tenant=contoso).select_related("owner"))


def test_each_token_was_generated_when_it_says_with_its_real_expiry(tokens):
    expiring = [token for token in tokens if token.expires_at]
    assert any(token.is_expired for token in expiring) and any(
        token.expires_soon for token in expiring
    )
    for token in tokens:
        [generated] = token.audit_events.filter(action=Action.TOKEN_GENERATED)
        assert near(generated.created_at, token.created_at), token.name
        expected = (
            f"Expires {token.expires_at:%Y-%m-%d %H:%M} UTC." if token.expires_at else "No expiry."
        )
        assert generated.detail.startswith(expected), (token.name, generated.detail)


def test_no_event_of_a_token_lies_outside_its_life(contoso, tokens):
    now = timezone.now()
    for token in tokens:
        for event in token.audit_events.all():
            assert token.created_at - MINUTE < event.created_at <= now, (token.name, event)


def test_the_audit_trail_reads_in_time_order(contoso):
    """The SIEM feed serves events by sequence: the story was written oldest first."""
    times = list(
        AuditEvent.objects.filter(tenant=contoso)
        .order_by("sequence")
        .values_list("created_at", flat=True)
    )
    assert len(times) > 20 and times == sorted(times)


def test_a_new_network_is_news_at_its_first_call(tokens):
    news = AuditEvent.objects.filter(action=Action.TOKEN_NEW_NETWORK, token__in=tokens)
    assert news.exists()
    for event in news:
        network = TokenNetwork.objects.get(
            token=event.token, network=sighting_network(event.client_ip)
        )
        assert near(event.created_at, network.first_seen_at), event.token_name
        assert network.flagged_at == network.first_seen_at and not network.baseline
        # The call from the address that made it news, no later than it.
        address = TokenClientAddress.objects.get(token=event.token, address=event.client_ip)
        assert address.last_seen_at >= network.first_seen_at
    # And every network flagged as new has its event.
    told = {(event.token_id, sighting_network(event.client_ip)) for event in news}
    for network in TokenNetwork.objects.filter(token__in=tokens, baseline=False):
        assert (network.token_id, network.network) in told


def test_the_latest_address_of_a_used_token_is_its_last_use(tokens):
    kept = timezone.now() - timedelta(days=usage.KEPT_DAYS)
    used = [token for token in tokens if token.last_used_at]
    assert len(used) >= 8
    for token in tokens:
        seen = list(token.client_addresses.order_by("-last_seen_at"))
        if token.last_used_at is None:
            assert not seen and not token.usage_days.exists(), token.name
            continue
        assert token.last_used_at > kept, token.name  # its addresses are kept (usage.prune)
        assert near(seen[0].last_seen_at, token.last_used_at), token.name
        assert all(address.last_seen_at <= seen[0].last_seen_at for address in seen)
        networks = token.networks_seen.all()
        assert max(network.last_seen_at for network in networks) == seen[0].last_seen_at
        assert min(network.first_seen_at for network in networks) > token.created_at


def test_day_counts_lie_between_generation_and_last_use(tokens):
    """No calls before a token existed or after its last use: a token last used 30 days ago
    has none in the past 29 days. After its last use a token has only refused calls, each
    audited: the former employee's job, refused since they left."""
    for token in tokens:
        days = list(token.usage_days.order_by("day"))
        if token.last_used_at is None:
            assert not days
            continue
        last_day = token.last_used_at.date()
        assert days[0].day >= token.created_at.date(), token.name
        assert days[-1].day >= last_day, token.name
        assert any(day.day == last_day and day.requests for day in days), token.name
        for day in days:
            if day.day > last_day:
                assert day.requests == 0 and day.refused, (token.name, day.day)
                denials = token.audit_events.filter(
                    action=Action.TOKEN_DENIED_DEPROVISIONED, created_at__date=day.day
                )
                assert denials.count() == day.refused, (token.name, day.day)


def test_the_former_employee_left_between_their_jobs_last_call_and_its_refusals(contoso):
    former = User.objects.get(tenant=contoso, deprovisioned_at__isnull=False)
    [legacy] = former.tokens.all()
    assert former.date_joined < legacy.created_at < legacy.last_used_at < former.deprovisioned_at
    [left] = AuditEvent.objects.filter(action=Action.USER_DEPROVISIONED, subject=former)
    assert near(left.created_at, former.deprovisioned_at)
    refusals = legacy.audit_events.filter(action=Action.TOKEN_DENIED_DEPROVISIONED)
    first, last = refusals.order_by("created_at").first(), refusals.order_by("created_at").last()
    assert former.deprovisioned_at < first.created_at
    assert near(last.created_at, legacy.last_denied_at)
    assert last.client_ip == legacy.last_denied_ip
    assert legacy.access == "read_write"  # generated while they were an operator


def test_the_service_account_of_the_former_employee_works_on_flagged_since_they_left(contoso):
    former = User.objects.get(tenant=contoso, deprovisioned_at__isnull=False)
    [account] = ServiceAccount.objects.filter(sponsor=former).select_related("user")
    assert account.created_at < former.deprovisioned_at
    assert account.user.sponsor_missing_since == former.deprovisioned_at
    [flagged] = AuditEvent.objects.filter(action=Action.SERVICE_ACCOUNT_SPONSOR_MISSING)
    assert flagged.subject == account.user and near(flagged.created_at, former.deprovisioned_at)
    # Its grace has most of its 30 days to run: the token still answers, and was called since.
    assert account.user.sponsor_grace_ends_at() > timezone.now() + timedelta(days=27)
    [export] = account.user.tokens.all()
    assert export.status.value == "active" and export.last_used_at > former.deprovisioned_at
    assert not export.audit_events.filter(action=Action.TOKEN_DENIED_DEPROVISIONED).exists()


def test_the_deploy_pipelines_token_is_rotating_with_its_successor_unused(contoso):
    account = ServiceAccount.objects.get(tenant=contoso, sponsor__email=ADMIN)
    [deploy] = account.user.tokens.all()
    now = timezone.now()
    assert deploy.created_at < deploy.rotated_at < now
    assert deploy.previous_valid_until == deploy.rotated_at + timedelta(hours=24)
    assert deploy.previous_valid_until > now and deploy.successor_used_at is None
    # Called with the old secret since: the pipeline has not deployed the new one yet.
    assert deploy.rotated_at < deploy.last_used_at
    [rotated] = deploy.audit_events.filter(action=Action.TOKEN_ROTATED)
    assert near(rotated.created_at, deploy.rotated_at)


def test_a_drifted_token_was_generated_before_its_owners_demotion(contoso):
    [demoted] = AuditEvent.objects.filter(tenant=contoso, action=Action.USER_ROLE_CHANGED)
    reader = demoted.subject
    assert reader.role == Role.SECURITY_READER
    drifted = [token for token in reader.tokens.all() if token.role_drifted]
    assert drifted
    for token in drifted:
        assert token.created_at < demoted.created_at
    for token in reader.tokens.exclude(pk__in=[token.pk for token in drifted]):
        assert token.created_at > demoted.created_at and token.is_read_only
    for event in AuditEvent.objects.filter(action=Action.TOKEN_USED_AFTER_ROLE_CHANGE):
        assert demoted.created_at < event.created_at <= event.token.last_used_at


def test_every_health_state_of_the_siem_agents_page_appears_once(contoso, signed_in):
    admin = User.objects.get(tenant=contoso, email="admin@contoso.example")
    html = signed_in(admin).get(SIEM_PAGE).content.decode()
    for health in SiemHealth:
        badge = f'<span class="badge badge-{health.value}">{health.label}</span>'
        assert html.count(badge) == 1, health
    agents = {agent.name: agent for agent in SiemAgent.objects.with_health()}
    assert sorted(agent.health for agent in agents.values()) == sorted(SiemHealth)
    running = next(agent for agent in agents.values() if agent.health == SiemHealth.RUNNING)
    assert running.agent_version and running.lag_events == 0 and "Up to date" in html
    behind = next(agent for agent in agents.values() if agent.health == SiemHealth.BEHIND)
    text = re.sub(r"<[^>]+>", "", html)
    assert behind.lag_events and re.search(r"\d+ events? · \d+ h behind", text)
    for agent in agents.values():
        assert agent.delivered_sequence <= AuditCounter.objects.get(tenant=contoso).last
        if agent.last_heartbeat_at is not None:
            assert near(agent.last_heartbeat_at, agent.token.last_used_at)
            assert agent.last_delivered_at <= agent.last_heartbeat_at
    collectors = signed_in(admin).get("/settings/log-collectors/").content.decode()
    assert LogCollector.objects.filter(tenant=contoso).count() == 2
    assert "badge-active" in collectors and "badge-generated" in collectors


def snapshot():
    models = (
        Tenant,
        User,
        Token,
        TokenUsage,
        TokenClientAddress,
        TokenNetwork,
        AuditEvent,
        AuditCounter,
        SiemAgent,
        LogCollector,
    )
    return {model.__name__: sorted(map(repr, model.objects.values())) for model in models}


def test_running_demo_again_changes_nothing(contoso):
    before = snapshot()
    call_command("demo", stdout=io.StringIO())
    call_command("demo", "--if-empty", stdout=io.StringIO())
    assert snapshot() == before
