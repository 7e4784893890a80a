import unicodedata
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Count, Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from tenants.models import MAX_ROTATION_OVERLAP_HOURS, Role, Tenant, User
from tenants.permissions import tokens_visible_to
from web import networks

ACTIVE_WINDOW = timedelta(days=7)
EXPIRY_WARNING = timedelta(days=7)  # tokens expiring this soon are flagged on the page
# The lifetime a token gets when the tenant requires an expiry but sets no maximum and the
# token has none (rotation of an older token): the generate dialog's default choice.
DEFAULT_REQUIRED_LIFETIME = timedelta(days=90)
# The generate form accepts a date up to a minute past the maximum (the clock moves while
# the form is filled); rotation allows the same, so a token within policy is left alone.
LIFETIME_SLACK = timedelta(minutes=1)
NAME_MAX_LENGTH = 100
# Rotation with overlap (CONTRACT §15): how long the replaced secret keeps working at most, so
# that a consumer that has not picked the new one up yet (or lost the answer) is no outage.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(hours=MAX_ROTATION_OVERLAP_HOURS)


def longest_overlap(tenant):
    """The longest overlap a rotation in the tenant may ask for: its cap, else MAX_OVERLAP."""
    hours = tenant.token_max_rotation_overlap_hours
    return MAX_OVERLAP if hours is None else min(MAX_OVERLAP, timedelta(hours=hours))


def default_overlap(tenant):
    """The overlap of a rotation that asks for none: DEFAULT_OVERLAP, cut to the tenant's cap."""
    return min(DEFAULT_OVERLAP, longest_overlap(tenant))


def validate_token_name(value):
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise ValidationError("Token names cannot contain control or invisible characters.")


class TokenKind(models.TextChoices):
    API = "api", "API token"
    SIEM = "siem", "SIEM agent token"
    LOG_COLLECTOR = "log_collector", "Log collector token"
    # SCIM clients of identity providers; accepted only under /scim/ (identity app).
    PROVISIONING = "provisioning", "Provisioning token"


class TokenAccess(models.TextChoices):
    """What a token may do, within what its owner may do at each call (CONTRACT §12)."""

    READ_WRITE = "read_write", "Read and write"
    READ_ONLY = "read_only", "Read only"


# The tokens that act as their owner: the SQL twin of Token.is_personal.
PERSONAL_TOKENS = Q(kind=TokenKind.API)


class TokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    GENERATED = "generated", "Generated"
    # Refused until resumed (CONTRACT §16); an expired token is Expired, suspended or not.
    SUSPENDED = "suspended", "Suspended"
    EXPIRED = "expired", "Expired"

    @classmethod
    def condition(cls, status, now):
        """The SQL definition of a status; Token.status_at is its Python twin."""
        since = now - ACTIVE_WINDOW
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        usable = unexpired & Q(suspended_at__isnull=True)
        return {
            cls.GENERATED: usable & Q(last_used_at__isnull=True),
            cls.ACTIVE: usable & Q(last_used_at__gte=since),
            cls.INACTIVE: usable & Q(last_used_at__lt=since),
            cls.SUSPENDED: unexpired & Q(suspended_at__isnull=False),
            cls.EXPIRED: Q(expires_at__lte=now),
        }[cls(status)]


# The ?status= filter of the tokens page and the API: one status, or all of them. The form,
# the page's filter links and the OpenAPI enum all read it from here.
STATUS_FILTER_CHOICES = [("all", "All"), *TokenStatus.choices]
STATUS_FILTER_VALUES = [value for value, _label in STATUS_FILTER_CHOICES]

# ?q= and ?sort= of the same lists (CONTRACT §13). A search longer than any name or e-mail
# could match nothing useful and would only cost a scan.
SEARCH_MAX_LENGTH = 100
# On SQLite, the most tokens the search index may name for the search to read only those
# (TokenQuerySet.search): beyond, reading them by id costs more than the scan, which stops
# after a page of matches.
SEARCH_INDEX_MAX_IDS = 1000
SORT_KEYS = ("name", "created_at", "last_used_at")
SORT_VALUES = [*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]
DEFAULT_SORT = "-created_at"


class LastUse(models.Func):
    """last_used_at with never as the earliest moment: the sort key of ?sort=last_used_at, so
    that never-used tokens come first ascending and last descending on every database, and
    an index on it serves the sort without NULLS FIRST (which SQLite refuses in an index).
    Unlike an index on last_used_at itself, the status filters cannot pick it for their
    range on last_used_at and then sort every match."""

    template = "COALESCE(%(expressions)s, '-infinity')"
    output_field = models.DateTimeField()

    def __init__(self):
        super().__init__(F("last_used_at"))

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as text there, and '' sorts before any date.
        return self.as_sql(compiler, connection, template="COALESCE(%(expressions)s, '')")


class TokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)

    def api(self):
        return self.filter(kind=TokenKind.API)

    def visible_to(self, user):
        """Live tokens the user may see and revoke (tenants.permissions.may_see_token).
        Outsiders get nothing, so views answer them with 404."""
        return self.live().filter(tokens_visible_to(user, personal=PERSONAL_TOKENS))

    def revoked_visible_to(self, user):
        """Revoked tokens the user may look into, read only: those it would see live
        (tenants.permissions.may_see_token), a full admin's whole tenant's, anyone else's
        own. Only full admins also list them (may_see_revoked_tokens): the tokens page."""
        return self.filter(revoked_at__isnull=False).filter(
            tokens_visible_to(user, personal=PERSONAL_TOKENS)
        )

    def with_deprovisioned_owner(self):
        # A subquery over the few deprovisioned users, not a join over every token's owner:
        # the owner index then finds their tokens directly.
        return self.filter(owner__in=User.objects.filter(is_active=False).values("pk"))

    def search(self, q, people=None):
        """Tokens whose name, hint or owner's e-mail contains q, in any case; "" matches all.
        It only narrows: whose tokens these are stays the caller's filter's business.

        The owners whose e-mail matches are read first, among `people` (a tenant's users, so
        that the list stays short; everyone's by default), in a query of their own: the
        planner then sees their ids and each of the three conditions can use its own index
        (PostgreSQL's trigram indexes, the owner index), where a join or a subquery would
        make it read every token of the tenant.

        On SQLite, a q of 3 characters or more is first looked up in the search index
        (tokens.search_index), and when it names at most SEARCH_INDEX_MAX_IDS tokens only
        those are read. The conditions before the search are then checked in a subquery on
        each of those tokens, so they must be on the token's row or its single-valued
        relations (as all of the portal's are): a join along a multi-valued relation would
        be left in the outer query unconditioned."""
        q = q.strip()
        if not q:
            return self
        people = User.objects.all() if people is None else people
        connection = connections[self.db]
        # Imported here: the index module reads this module's Token for its table.
        from . import search_index

        if not search_index.usable(connection, q):
            owners = list(people.filter(email__icontains=q).values_list("pk", flat=True))
            return self.filter(Q(name__icontains=q) | Q(hint__icontains=q) | Q(owner__in=owners))
        # SQLite: the search index names the few tokens that may match, and only those are
        # read. When too many may match, the ordered scan finds a page of them soonest.
        # Either way two queries, as above: the owners are a subquery here.
        matching = Q(name__icontains=q) | Q(hint__icontains=q)
        matching |= Q(owner__in=people.filter(email__icontains=q).values("pk"))
        candidates = search_index.matching_token_ids(connection, q, SEARCH_INDEX_MAX_IDS + 1)
        if len(candidates) > SEARCH_INDEX_MAX_IDS:
            return self.filter(matching)
        # Without planner statistics, SQLite takes a tenant's ordered index for a handful of
        # rows, and would walk it through the whole tenant, checking each token against the
        # ids. So the ids are the only condition of the outer query, which reads them by
        # primary key; this query set's own conditions, and the search's, are checked on
        # each of them by key in a subquery: the results are exactly those above.
        narrowed = self.all()
        narrowed.query.clear_where()
        return narrowed.filter(Exists(self.filter(matching, pk=OuterRef("pk"))), pk__in=candidates)

    def sorted_by(self, key=DEFAULT_SORT):
        """Ordered by one of SORT_VALUES, then by id, so that pages never repeat or skip a row
        among equal values. Names sort without regard to case; never-used tokens count as the
        least recently used (first ascending, last descending), on every database alike."""
        descending, field = key.startswith("-"), key.lstrip("-")
        if field not in SORT_KEYS:
            raise ValueError(f"Unknown sort {key!r}")
        value = {"name": Lower("name"), "created_at": F("created_at"), "last_used_at": LastUse()}
        if descending:
            return self.order_by(value[field].desc(), F("id").desc())
        return self.order_by(value[field].asc(), F("id").asc())

    def flagging_new_networks(self):
        """Each token with new_network: whether it was used from a network no full admin has
        reviewed yet (tokens.sightings). In the same query, for the rows it returns only."""
        unreviewed = TokenNetwork.objects.unreviewed().filter(token=OuterRef("pk"))
        return self.annotate(new_network=Exists(unreviewed))

    def with_status(self, status, now=None):
        return self.filter(TokenStatus.condition(status, now or timezone.now()))

    def unexpired(self, now):
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def expiring_soon(self, now):
        """Live tokens flagged as expiring soon (Token.expires_soon): within EXPIRY_WARNING."""
        return self.filter(expires_at__gt=now, expires_at__lte=now + EXPIRY_WARNING)

    def unused_for(self, days, now):
        """Live, unexpired tokens neither used nor issued in the past `days` days: those the
        daily sweep revokes under a policy of revoking tokens unused that long."""
        return (
            self.live()
            .unexpired(now)
            .annotate(seen=Coalesce(F("last_used_at"), F("created_at")))
            .filter(seen__lt=now - timedelta(days=days))
        )

    def suspended_longer_than(self, days, now):
        """Live tokens suspended more than `days` days ago: those the daily sweep revokes under
        a policy of revoking tokens suspended that long."""
        return self.live().filter(suspended_at__lt=now - timedelta(days=days))

    def living_longer_than(self, days, now):
        """Live, unexpired API tokens whose lifetime (from issue or last rotation to expiry)
        is over `days` days, or unbounded: those a maximum lifetime of `days` would not allow
        today. They keep working; rotation gives them a lifetime within the policy."""
        issued = Coalesce(F("rotated_at"), F("created_at"))
        longest = ExpressionWrapper(
            issued + timedelta(days=days) + LIFETIME_SLACK, output_field=models.DateTimeField()
        )
        return (
            self.live()
            .api()
            .unexpired(now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=longest))
        )

    def status_counts(self, now=None):
        now = now or timezone.now()
        counts = self.aggregate(
            all=Count("pk"),
            **{s.value: Count("pk", filter=TokenStatus.condition(s, now)) for s in TokenStatus},
        )
        return counts


class Token(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="tokens")
    # An API token acts as its owner, with the owner's privileges at each request. A token of
    # any other kind is the tenant's (is_personal): owner only records who created it, for
    # display and audit, and nothing that authenticates it reads that person's state or role.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tokens"
    )
    kind = models.CharField(max_length=20, choices=TokenKind, default=TokenKind.API)
    name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[validate_token_name])
    # Narrower than the owner: a read-only token never writes, whatever its owner may do.
    # db_default too: code of the previous release, still running during a deploy, inserts
    # tokens without the column.
    access = models.CharField(
        max_length=10,
        choices=TokenAccess,
        default=TokenAccess.READ_WRITE,
        db_default=TokenAccess.READ_WRITE,
    )
    # The addresses it may be used from: normalised ranges separated by spaces (web.networks),
    # "" for anywhere. Read on every call from the cached token, so no query of its own.
    networks = models.TextField(
        blank=True, default="", db_default="", editable=False, validators=[networks.validate_stored]
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The secret the last rotation replaced (its digest), which keeps working until the earlier
    # of previous_valid_until and the new secret's first successful call (successor_used_at).
    # Kept after that, so that its reuse is recognised (previous_reused_at/_ip, a flag for a
    # full admin) rather than taken for an unknown value. All nullable: the previous release
    # keeps inserting tokens without them (CONTRACT §14). NULL, not "", for "never rotated":
    # the lookup's partial index then holds rotated tokens only.
    previous_digest = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )
    previous_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The secret that replaced it. Should digest differ, a rotation that knows nothing of the
    # overlap (the previous release's, still serving during an upgrade) has replaced the
    # secret since, and ended the one before it: previous_digest is not honoured then.
    successor_digest = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )
    successor_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    previous_reused_at = models.DateTimeField(null=True, blank=True, editable=False)
    previous_reused_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    # The owner's role when the token was issued, to show privilege drift; and the role
    # under which a use after a change was last audited, so each change is audited once.
    issued_role = models.CharField(max_length=32, choices=Role, editable=False)
    drift_audited_role = models.CharField(max_length=32, blank=True, editable=False)
    # The last call refused because the owner was deprovisioned (shown to full admins).
    last_denied_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_denied_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # Suspended (CONTRACT §16): refused until resumed, and otherwise unchanged. Nullable, and
    # no foreign-key constraint in the database this release (as ServiceAccount's): expand
    # only, while the previous release serves (CONTRACT §14).
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        db_constraint=False,
        db_index=False,  # never looked up by; an index on tokens would be built under lock
    )

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The tokens page and API: a tenant's (or an owner's) live tokens, newest first,
            # optionally filtered by last use. Partial, so revoked history costs them nothing.
            # Walking it newest first, the status columns are read from the index itself, so a
            # filtered page stops after 50 matches instead of sorting every match.
            models.Index(
                fields=["tenant", "kind", "-created_at", "last_used_at", "expires_at"],
                condition=Q(revoked_at__isnull=True),
                name="token_tenant_live_idx",
            ),
            models.Index(
                fields=["owner", "kind", "-created_at", "last_used_at", "expires_at"],
                condition=Q(revoked_at__isnull=True),
                name="token_owner_live_idx",
            ),
            # The tokens page and API sorted by name or by last use, either way (?sort=);
            # TokenQuerySet.sorted_by. By creation: token_tenant_live_idx.
            models.Index(
                F("tenant"),
                F("kind"),
                Lower("name"),
                F("id"),
                condition=Q(revoked_at__isnull=True),
                name="token_tenant_name_idx",
            ),
            models.Index(
                F("tenant"),
                F("kind"),
                LastUse(),
                F("id"),
                condition=Q(revoked_at__isnull=True),
                name="token_tenant_last_use_idx",
            ),
            # The cache-miss lookup (tokens.auth) finds a token by either secret.
            models.Index(
                fields=["previous_digest"],
                condition=Q(previous_digest__isnull=False),
                name="token_previous_digest_idx",
            ),
            # sweeptokens: live tokens past their expiry, across tenants.
            models.Index(
                fields=["expires_at"],
                condition=Q(revoked_at__isnull=True, expires_at__isnull=False),
                name="token_expiry_idx",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @property
    def is_personal(self):
        """Whether the token acts as its owner (API tokens), rather than for its tenant
        (SIEM agents, log collectors, provisioning: they outlive the admin who made them)."""
        return self.kind == TokenKind.API

    @property
    def is_read_only(self):
        return self.access == TokenAccess.READ_ONLY

    @property
    def allowed_networks(self):
        return networks.listed(self.networks)

    def allowed_from(self, address):
        """Whether a call from address (None: unknown) may use the token: within its own
        networks and its tenant's."""
        return networks.allows(self.networks, address) and networks.allows(
            self.tenant.token_networks, address
        )

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def status_at(self, now):
        if self.is_expired_at(now):
            return TokenStatus.EXPIRED
        if self.suspended_at is not None:
            return TokenStatus.SUSPENDED
        if self.last_used_at is None:
            return TokenStatus.GENERATED
        if self.last_used_at >= now - ACTIVE_WINDOW:
            return TokenStatus.ACTIVE
        return TokenStatus.INACTIVE

    @property
    def status(self):
        return self.status_at(timezone.now())

    def is_expired_at(self, now):
        return self.expires_at is not None and self.expires_at <= now

    @property
    def is_expired(self):
        # The clock is read only for a token that expires at all: this runs on every API call.
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def expires_soon(self):
        now = timezone.now()
        return self.expires_at is not None and now < self.expires_at <= now + EXPIRY_WARNING

    def previous_secret_valid_at(self, now):
        """Whether the secret the last rotation replaced still works at now: its overlap has
        not ended, and the new secret has not been used yet."""
        return (
            self.awaits_successor_use
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
        )

    @property
    def is_rotating(self):
        """In a rotation's overlap: both the old and the new secret work."""
        return not self.is_revoked and self.previous_secret_valid_at(timezone.now())

    @property
    def awaits_successor_use(self):
        """Rotated, and its new secret not used yet: the new secret's first successful call is
        recorded (a write, once), which ends the old secret's overlap."""
        return (
            self.previous_digest is not None
            and self.successor_used_at is None
            and self.successor_digest == self.digest
        )

    def expiry_after_rotation(self, now):
        """(expires_at, note) for a new secret of this token, issued now.

        The token keeps its lifetime, counted from now, where the tenant's policy of today
        allows it; else it gets the longest lifetime the policy allows (or, when an expiry is
        required without a maximum, the default one). The policy may have been tightened
        since the token was issued: rotation must not renew a token on the old terms. note
        says what the policy changed, in a sentence for the admin and the audit trail; ""
        when it changed nothing.

        Only API tokens follow the policy, as at issuance: integration and provisioning tokens
        are issued without expiry (their pages offer none), so regenerating keeps theirs.
        """
        expires_at = None
        if self.expires_at is not None:
            expires_at = now + (self.expires_at - (self.rotated_at or self.created_at))
        if self.kind != TokenKind.API:
            return expires_at, ""
        tenant = self.tenant
        limit = tenant.token_max_lifetime_days
        longest = now + timedelta(days=limit) if limit else None
        if longest and (expires_at is None or expires_at > longest + LIFETIME_SLACK):
            return longest, (
                f"Your organisation allows tokens to live at most {limit} days, so the new "
                f"value expires {limit} days from now."
            )
        if tenant.token_expiry_required and expires_at is None:
            days = DEFAULT_REQUIRED_LIFETIME.days
            return now + DEFAULT_REQUIRED_LIFETIME, (
                "Your organisation requires tokens to expire, so the new value expires "
                f"{days} days from now."
            )
        return expires_at, ""

    def rotation_summary(self, now=None):
        """What rotating now does to the expiry, in sentences for the confirmation: the new
        expiry always, and for an expired token that rotating revives it."""
        now = now or timezone.now()
        expires_at, note = self.expiry_after_rotation(now)
        if expires_at is None:
            until = "never expires"
        else:
            days = max(1, round((expires_at - now).total_seconds() / 86400))
            until = f"until {expires_at:%Y-%m-%d} ({days} day{'s' if days != 1 else ''} from now)"
        if self.is_expired_at(now):
            summary = f"This token expired on {self.expires_at:%Y-%m-%d}; rotating revives it " + (
                f"{until}." if expires_at else "with no expiry."
            )
        elif expires_at is None:
            summary = "The new value never expires."
        else:
            summary = f"The new value works {until}."
        return f"{summary} {note}".strip()

    @property
    def role_drifted(self):
        """The owner's role differs from the one the token was issued under."""
        return self.issued_role != self.owner.role

    def revoke(self, by=None):
        """Revoke once; the row stays for the audit trail. Returns False if already revoked.
        Through tokens.services.token_revoke, which audits it and empties the caches."""
        now = timezone.now()
        # A conditional UPDATE, so two concurrent revocations cannot both win.
        updated = Token.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=by
        )
        if updated:
            self.revoked_at, self.revoked_by = now, by
        return bool(updated)

    @property
    def is_suspended(self):
        return self.suspended_at is not None

    @property
    def suspender(self):
        """Who suspended it, as its refusals and pages name them (one query, then kept on the
        instance: a cached token reads it once)."""
        if self.suspended_by_id is None:
            return "an administrator"  # a command, which has no signed-in person
        user = self.suspended_by
        return user.service_account.name if user.is_service_account else user.email

    def suspend(self, by):
        """Suspend a live token once; False if it was already suspended (or is revoked).
        Through tokens.services.token_suspend, which audits it and empties the caches."""
        now = timezone.now()
        updated = Token.objects.filter(
            pk=self.pk, revoked_at__isnull=True, suspended_at__isnull=True
        ).update(suspended_at=now, suspended_by=by)
        if updated:
            self.suspended_at, self.suspended_by = now, by
        return bool(updated)

    def resume(self):
        """Resume a suspended live token, unchanged otherwise; False if it was not suspended."""
        updated = Token.objects.filter(
            pk=self.pk, revoked_at__isnull=True, suspended_at__isnull=False
        ).update(suspended_at=None, suspended_by=None)
        if updated:
            self.suspended_at, self.suspended_by = None, None
        return bool(updated)


def api_token_listing(user, status="all", now=None, *, q="", sort=DEFAULT_SORT, owner=None):
    """The API tokens a user sees on the page and in the API, one query: of one status (or
    all), matching the search q, in the order sort; only owner's among them, when given."""
    # The owner's service account, if any, in the same query: the table names it with a badge.
    tokens = Token.objects.api().visible_to(user).select_related("owner__service_account")
    if owner is not None:
        tokens = tokens.filter(owner=owner)
    tokens = tokens.search(q, people=User.objects.filter(tenant_id=user.tenant_id))
    if status != "all":
        tokens = tokens.with_status(status, now)
    return tokens.sorted_by(sort)


class TokenUsage(models.Model):
    """Calls made with a token on one day (UTC), written in batches by tokens.pending: those
    answered (requests) and those refused although the token was recognised (refused)."""

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)
    # db_default: code of the previous release, still running during a deploy, inserts rows
    # without the column.
    refused = models.PositiveIntegerField(default=0, db_default=0)
    # Networks the token was newly seen from that day (tokens.sightings): which of them get
    # an audit event of their own. db_default as for refused.
    new_networks = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "day"], name="token_usage_day_unique")
        ]

    def __str__(self):
        return f"{self.day}: {self.requests}"


class TokenClientAddress(models.Model):
    """A client address a token was used from, with when it was last seen."""

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="client_addresses")
    address = models.GenericIPAddressField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "address"], name="token_address_unique")
        ]

    def __str__(self):
        return self.address


class TokenNetworkQuerySet(models.QuerySet):
    def unreviewed(self):
        """New networks no full admin has marked reviewed yet: what flags a token."""
        return self.filter(flagged_at__isnull=False, reviewed_at__isnull=True)


class TokenNetwork(models.Model):
    """A network a token was used from (web.networks.sighting_network: the /24 or /64 of the
    client's address), written by tokens.sightings when a process flushes its usage.

    The first network a token is used from is its baseline. Any other, and the baseline
    itself when it comes back after SIGHTING_WINDOW without a call, is flagged as new once
    (an audit event) until a full admin marks it reviewed. The unique constraints are what
    make "once" hold across processes and hosts."""

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="networks_seen")
    network = models.CharField(max_length=43)
    # Start of the current run of sightings: moved when the network comes back after a gap.
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    baseline = models.BooleanField(default=False)
    flagged_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TokenNetworkQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "network"], name="token_network_unique"),
            models.UniqueConstraint(
                fields=["token"], condition=Q(baseline=True), name="token_network_one_baseline"
            ),
        ]
        indexes = [
            models.Index(
                fields=["token"],
                condition=Q(flagged_at__isnull=False, reviewed_at__isnull=True),
                name="token_network_unreviewed_idx",
            )
        ]

    def __str__(self):
        return self.network
