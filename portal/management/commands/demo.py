"""manage.py demo: the tenant contoso for make run, with one user per role, API tokens in every
status, and SIEM agents and log collectors in every health state.

The story (_demo_story) is told in time order through the portal's own services, the ones a
page, a call or a command would use: each happening is then dated when it happened in the
story, and so are the audit events it wrote. So a token's history, dates, addresses and day
counts tell the same story, and the audit trail (and the SIEM feed) reads in time order.
Lives in portal, the top floor: the story spans tokens, tenants and integrations.
"""

from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.management import CommandError
from django.db import transaction
from django.utils import timezone

from audit.models import AuditCounter, AuditEvent
from integrations.forms import LogCollectorForm, SiemAgentForm
from integrations.models import SiemAgent
from integrations.services import integration_create
from tenants.models import ServiceAccount, Tenant, User
from tenants.services import service_account_create, user_deprovision, user_set_role
from tokens import sightings, usage
from tokens.models import Token, TokenClientAddress, TokenUsage
from tokens.services import (
    token_audit_role_drift,
    token_issue,
    token_record_denial,
    token_rotate,
    token_suspend,
)
from web.commands import PortalCommand

from . import _demo_story as story

# How long after its owner's demotion a token used all day was called again.
CALL_AFTER = 20 * story.MINUTE


class Command(PortalCommand):
    help = (
        "Load the demo tenant contoso: one user per role, tokens in every status, SIEM agents "
        "and log collectors."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when any tenant exists"
        )

    def handle(self, *args, if_empty, **options):
        if if_empty and Tenant.objects.exists():
            self.stdout.write("The database already has tenants; demo data not loaded.")
        else:
            self._load()
        tenant = Tenant.objects.filter(slug="contoso").first()
        self.stdout.write(f"Portal: {settings.PORTAL_SCHEME}://{settings.PORTAL_DOMAIN}{_port()}/")
        if tenant is None:
            return
        self.stdout.write(f"Demo tenant {tenant.name}: {tenant.custom_url}")
        for email, role, password in story.USERS:
            self.stdout.write(f"  {role.label:<18} {email:<28} password: {password}")

    def _load(self):
        with transaction.atomic():
            tenant, _ = Tenant.objects.get_or_create(
                slug="contoso", defaults={"name": "Contoso", "region": "us"}
            )
            now = timezone.now()
            people = _people(tenant, now)
            # Told once: a tenant with tokens has its story already (idempotent).
            if not Token.objects.filter(tenant=tenant).exists():
                Timeline(tenant, people, now).play()


def _people(tenant, now):
    """The story's users by e-mail, created where missing, with the role they started with.
    Within contoso: e-mails are unique per tenant only."""
    people = {}
    for email, role, password in [*story.USERS, (story.FORMER, None, None)]:
        user = User.objects.filter(tenant=tenant, email=email).first()
        if user is None:
            user = User.objects.create_user(
                email,
                password,
                tenant=tenant,
                role=story.STARTED_AS.get(email, role),
                date_joined=now - story.JOINED,
            )
        people[email] = user
    return people


class Timeline:
    """The story as happenings (when, what), planned first and then played oldest first, each
    given the moment it happens."""

    def __init__(self, tenant, people, now):
        self.tenant, self.people, self.now = tenant, people, now
        self.happenings = []
        self.tokens = {}  # story name (of a token, an agent, a collector) -> its Token
        self.refused = {}  # story name -> refused calls per day

    def add(self, ago, happening, *args):
        self.happenings.append((self.now - ago, len(self.happenings), partial(happening, *args)))

    def play(self):
        for email, (_role, ago) in story.DEMOTED.items():
            self.add(ago, self._demote, email)
        for email, ago in story.DEPROVISIONED.items():
            self.add(ago, self._deprovision, email)
        for planned in story.SERVICE_ACCOUNTS:
            self.add(planned.created, self._create_service_account, planned)
        for planned in story.TOKENS:
            self.add(planned.generated, self._issue, planned)
            self._plan_calls(planned.name, planned.owner, planned.generated, planned.calls)
            if planned.rotated is not None:
                self.add(planned.rotated.ago, self._rotate, planned)
            if planned.suspended is not None:
                self.add(planned.suspended, self._suspend, planned)
        for form_class, planned in [
            *((SiemAgentForm, agent) for agent in story.SIEM_AGENTS),
            *((LogCollectorForm, collector) for collector in story.LOG_COLLECTORS),
        ]:
            self.add(planned.created, self._add_integration, form_class, planned)
            name = planned.fields["name"]
            self._plan_calls(name, story.ADMIN, planned.created, planned.calls)
            if planned.calls is not None and form_class is SiemAgentForm:
                self.add(planned.calls.last, self._heartbeat, planned)
            if planned.delivered is not None:
                self.add(planned.delivered, self._delivered, planned)
        for when, _order, happening in sorted(self.happenings, key=lambda item: item[:2]):
            with _dated(self.tenant, when):
                happening(when)

    def _plan_calls(self, name, owner, generated, calls):
        """The happenings of a token's calls: its networks noted as they were called from, the
        first call after its owner's demotion, each call refused since its owner left; and
        its refused calls per day, for its day counts."""
        if calls is None:
            return
        for seen in calls.seen:
            for ago in _sightings(seen):
                self.add(ago, self._sighting, name, seen.address)
        self.refused[name] = Counter()
        if owner in story.DEMOTED:
            self._plan_demoted(name, story.DEMOTED[owner][1], generated, calls)
        if owner in story.DEPROVISIONED:
            self._plan_deprovisioned(name, calls)

    def _plan_demoted(self, name, demoted_ago, generated, calls):
        """A token generated before its owner's demotion and used after it: its first call
        after is audited, and its writes since are refused."""
        demoted, last = self.now - demoted_ago, self.now - calls.last
        if not self.now - generated < demoted < last - CALL_AFTER:
            return
        after = demoted_ago - CALL_AFTER
        self.add(after, self._drift, name, calls.address_at(after))
        for day in _days(demoted.date() + timedelta(days=1), last.date()):
            self.refused[name][day] += calls.refused

    def _plan_deprovisioned(self, name, calls):
        """Each run of the token's job since its last answered call is refused, and audited
        (token_record_denial), until now."""
        if not calls.refused:
            return
        every = timedelta(days=1) / calls.refused
        when = self.now - calls.last + every
        while when < self.now:
            self.refused[name][when.date()] += 1
            self.add(self.now - when, self._deny, name, calls.address_at(calls.last))
            when += every

    def _issue(self, planned, when):
        """Generated on the tokens page, with the expiry chosen there."""
        days = planned.lifetime_days
        issued = token_issue(
            owner=self.people[planned.owner],
            name=planned.name,
            expires_at=when + timedelta(days=days) if days else None,
        )
        self._record_calls(planned.name, issued.token, when, planned.calls)

    def _create_service_account(self, planned, when):
        account = service_account_create(
            tenant=self.tenant,
            name=planned.name,
            description=planned.description,
            role=planned.role,
            sponsor=self.people[planned.sponsor],
            by=self.people[story.ADMIN],
        )
        ServiceAccount.objects.filter(pk=account.pk).update(created_at=when)
        User.objects.filter(pk=account.user_id).update(date_joined=when)
        self.people[planned.name] = account.user

    def _rotate(self, planned, when):
        """Rotated on the token's page, with the overlap chosen there."""
        token = self.tokens[planned.name]
        token_rotate(token=token, by=self.people[story.ADMIN], overlap=planned.rotated.overlap)
        Token.objects.filter(pk=token.pk).update(
            rotated_at=when, previous_valid_until=when + planned.rotated.overlap
        )

    def _suspend(self, planned, when):
        token = self.tokens[planned.name]
        token_suspend(token=token, by=self.people[story.ADMIN])
        Token.objects.filter(pk=token.pk).update(suspended_at=when)

    def _add_integration(self, form_class, planned, when):
        form = form_class(planned.fields, tenant=self.tenant)
        if not form.is_valid():
            raise CommandError(f"Demo {planned.fields['name']}: {form.errors.as_text()}")
        integration, issued = integration_create(form=form, by=self.people[story.ADMIN])
        type(integration).objects.filter(pk=integration.pk).update(created_at=when)
        self._record_calls(integration.name, issued.token, when, planned.calls)

    def _sighting(self, name, address, when):
        sightings.note_addresses(self.tokens[name].pk, {address: when}, day=when.date())

    def _demote(self, email, _when):
        user_set_role(user=self.people[email], role=story.DEMOTED[email][0])

    def _drift(self, name, address, _when):
        token = self.tokens[name]
        if token.role_drifted:  # as the middleware checks it before auditing drift
            token_audit_role_drift(token, address)

    def _deprovision(self, email, when):
        user = self.people[email]
        if user_deprovision(user=user):
            User.objects.filter(pk=user.pk).update(deprovisioned_at=when)
            user.deprovisioned_at = when
            # The accounts they sponsored have been flagged since then.
            User.objects.filter(
                service_account__sponsor=user, sponsor_missing_since__isnull=False
            ).update(sponsor_missing_since=when)

    def _deny(self, name, address, when):
        token_record_denial(self.tokens[name], address, when)

    def _heartbeat(self, planned, when):
        SiemAgent.objects.filter(tenant=self.tenant, name=planned.fields["name"]).update(
            last_heartbeat_at=when, agent_version=planned.version
        )

    def _delivered(self, planned, when):
        """The agent's SIEM has received every event so far."""
        counter = AuditCounter.objects.filter(tenant=self.tenant).values_list("last", flat=True)
        SiemAgent.objects.filter(tenant=self.tenant, name=planned.fields["name"]).update(
            delivered_sequence=counter.first() or 0, last_delivered_at=when
        )

    def _record_calls(self, name, token, generated, calls):
        """The token was generated then; and its calls, as tokens.pending would have written
        them: its last use, its day counts and each address's last call, as far back as they
        are kept (tokens.usage.KEPT_DAYS)."""
        self.tokens[name] = token
        last_used = None if calls is None else self.now - calls.last
        Token.objects.filter(pk=token.pk).update(created_at=generated, last_used_at=last_used)
        token.created_at, token.last_used_at = generated, last_used
        if calls is None:
            return
        today, kept = self.now.date(), self.now.date() - timedelta(days=usage.KEPT_DAYS)
        refused = self.refused[name]
        rows = []
        for day in _days(max(kept, (self.now - calls.first).date()), today):
            answered = max(1, _busy(calls, day, today)) if day <= last_used.date() else 0
            if answered or refused[day]:
                rows.append(
                    TokenUsage(token=token, day=day, requests=answered, refused=refused[day])
                )
        TokenUsage.objects.bulk_create(rows)
        TokenClientAddress.objects.bulk_create(
            TokenClientAddress(token=token, address=seen.address, last_seen_at=self.now - seen.last)
            for seen in calls.seen
            if seen.last < timedelta(days=usage.KEPT_DAYS)
        )


@contextmanager
def _dated(tenant, when):
    """The audit events written inside happened at when (the story's time, not the load's).
    Events are append-only (AuditEvent.save); these are the demo's own, written a moment ago
    in the same transaction, and dated once."""
    counter = AuditCounter.objects.filter(tenant=tenant).values_list("last", flat=True)
    before = counter.first() or 0
    yield
    AuditEvent.objects.filter(tenant=tenant, sequence__gt=before).update(created_at=when)


def _sightings(seen):
    """When the address's network was noted (tokens.sightings): its first call, each week
    after (a network unseen for 30 days would be news again), and its last call."""
    ago = seen.first
    while ago > seen.last:
        yield ago
        ago -= timedelta(days=7)
    yield seen.last


def _days(first, last):
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _busy(calls, day, today):
    """A steady weekly rhythm with some variation from day to day, the same each load."""
    days_ago = (today - day).days
    share = calls.weekend_share if day.weekday() >= 5 else 1
    return round(calls.per_day * share * (0.8 + 0.4 * ((days_ago * 7) % 10) / 10))


def _port():
    return f":{settings.PORTAL_PORT}" if settings.PORTAL_PORT else ""
