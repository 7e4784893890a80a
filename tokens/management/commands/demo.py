from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Via
from tenants.models import Role, Tenant, User
from tenants.services import user_deprovision
from tokens import sightings
from tokens.models import Token, TokenClientAddress, TokenUsage
from tokens.services import token_issue, token_record_denial
from web.commands import PortalCommand

DEMO_USERS = [
    ("admin@contoso.example", Role.FULL_ADMIN, "contoso-admin-demo"),
    ("operator@contoso.example", Role.SECURITY_OPERATOR, "contoso-operator-demo"),
    ("reader@contoso.example", Role.SECURITY_READER, "contoso-reader-demo"),
]
FORMER_USER = "former.employee@contoso.example"

# (owner e-mail, token name, days since generated, days since last use or None,
#  days until expiry or None; negative: expired)
DEMO_TOKENS = [
    ("admin@contoso.example", "SIEM export", 40, 0, None),
    ("admin@contoso.example", "Terraform provider", 120, 30, 245),
    ("admin@contoso.example", "Incident runbook", 2, None, 5),
    ("operator@contoso.example", "SOAR playbooks", 60, 1, 30),
    ("operator@contoso.example", "Quarterly report script", 200, 90, None),
    ("operator@contoso.example", "New integration (not wired yet)", 1, None, 89),
    ("operator@contoso.example", "Contractor access", 95, 20, -5),
    ("reader@contoso.example", "Grafana dashboard", 30, 3, None),
    ("reader@contoso.example", "Old audit notebook", 300, 45, None),
    ("reader@contoso.example", "Read-only check", 0, None, None),
    (FORMER_USER, "Legacy sync job", 400, 2, None),
]
# Issued while the reader was still an operator: shown as privilege drift.
DRIFTED_TOKEN = "Grafana dashboard"

# Calls on a busy weekday of the tokens used in the past 30 days (weekends see a fifth of
# it); refused calls per day over the last days given; and where each calls from, oldest
# first: (hours ago, address). SOAR playbooks was called from a new network two days ago, so
# the demo shows the flag; the former employee's script has been refused since yesterday.
DEMO_USAGE = {
    "SIEM export": (820, 0, 0, [(700, "198.51.100.24"), (1, "198.51.100.31")]),
    "SOAR playbooks": (
        260,
        12,
        9,
        [(600, "198.51.100.40"), (50, "203.0.113.80"), (26, "198.51.100.41")],
    ),
    "Grafana dashboard": (140, 0, 0, [(700, "2001:db8:4:2::10"), (70, "2001:db8:4:2::11")]),
    "Contractor access": (45, 0, 0, [(700, "192.0.2.15")]),
    "Legacy sync job": (30, 18, 1, [(700, "192.0.2.50")]),
}


class Command(PortalCommand):
    help = "Load the demo tenant contoso, one user per role and tokens in every status."

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
        for email, role, password in DEMO_USERS:
            self.stdout.write(f"  {role.label:<18} {email:<28} password: {password}")

    def _load(self):
        with transaction.atomic():
            tenant, _ = Tenant.objects.get_or_create(
                slug="contoso", defaults={"name": "Contoso", "region": "us"}
            )
            # Within contoso: e-mails are unique per tenant only.
            users = User.objects.filter(tenant=tenant)
            for email, role, password in DEMO_USERS:
                if not users.filter(email=email).exists():
                    User.objects.create_user(email, password, tenant=tenant, role=role)
            if not users.filter(email=FORMER_USER).exists():
                former = User.objects.create_user(
                    FORMER_USER, None, tenant=tenant, role=Role.SECURITY_OPERATOR
                )
                user_deprovision(user=former)
            if not Token.objects.filter(tenant=tenant).exists():
                self._create_tokens(tenant)

    def _create_tokens(self, tenant):
        now = timezone.now()
        for email, name, generated_days, used_days, expiry_days in DEMO_TOKENS:
            token = token_issue(
                owner=User.objects.get(tenant=tenant, email=email), name=name, via=Via.COMMAND
            ).token
            Token.objects.filter(pk=token.pk).update(
                created_at=now - timedelta(days=generated_days, hours=3),
                last_used_at=None
                if used_days is None
                else now - timedelta(days=used_days, hours=2),
                expires_at=None if expiry_days is None else now + timedelta(days=expiry_days),
            )
        tokens = Token.objects.filter(tenant=tenant)
        tokens.filter(name=DRIFTED_TOKEN).update(issued_role=Role.SECURITY_OPERATOR)
        # The former employee's script called an hour ago, and was refused.
        legacy = tokens.select_related("tenant", "owner").get(name="Legacy sync job")
        token_record_denial(legacy, "203.0.113.7", now - timedelta(hours=1))
        _record_usage(tokens, now)


def _record_usage(tokens, now):
    """Thirty days of calls, as tokens.pending would have written them, so that the charts, the
    API usage overview and a new-network flag have something to show."""
    rows = []
    used = list(tokens.filter(name__in=DEMO_USAGE).select_related("tenant", "owner"))
    for token in used:
        busy, refused, refused_days, _addresses = DEMO_USAGE[token.name]
        last_day = token.last_used_at.date()
        for days_ago in range(30):
            day = now.date() - timedelta(days=days_ago)
            if day < token.created_at.date():
                continue
            # A steady weekly rhythm with some variation from day to day, the same each load.
            scale = (0.2 if day.weekday() >= 5 else 1) * (0.8 + 0.4 * ((days_ago * 7) % 10) / 10)
            answered = round(busy * scale) if day <= last_day else 0
            refused_that_day = refused if days_ago <= refused_days else 0
            if answered or refused_that_day:
                rows.append(
                    TokenUsage(token=token, day=day, requests=answered, refused=refused_that_day)
                )
    # Before the sightings, which count the day's new networks in the same rows.
    TokenUsage.objects.bulk_create(rows)
    for token in used:
        for hours, address in DEMO_USAGE[token.name][3]:
            seen = min(now - timedelta(hours=hours), token.last_used_at)
            TokenClientAddress.objects.update_or_create(
                token=token, address=address, defaults={"last_seen_at": seen}
            )
            sightings.note_addresses(token.pk, {address: seen})


def _port():
    return f":{settings.PORTAL_PORT}" if settings.PORTAL_PORT else ""
