import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    validate_email,
)
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from web import networks

SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
slug_validator = RegexValidator(
    SLUG_PATTERN,
    "A tenant slug is a DNS label: 1-63 lowercase letters, digits or hyphens, "
    "not starting or ending with a hyphen.",
)
region_validator = RegexValidator(
    SLUG_PATTERN, "A region is a DNS label: lowercase letters, digits or hyphens."
)

UNMAILABLE = (
    "This e-mail address cannot be mailed as written: its domain has no IDNA (ASCII) form, "
    "or that form names another domain."
)


def validate_mailable(value):
    """Refuse an address the mail backends cannot put on the wire as it is written.

    EmailValidator accepts any Unicode domain; the backends encode it with Python's IDNA
    codec (django.core.mail.message.sanitize_address), which refuses some (x@aא.com, a
    UnicodeError at every send) and maps others onto another domain (a full-width letter, a
    zero-width joiner, ß to ss). A domain is kept only as its A-labels or its U-labels.
    Local parts are ASCII (EmailValidator), so no address needs SMTPUTF8.
    """
    try:
        validate_email(value)
    except ValidationError:
        return  # not an address at all: EmailValidator, the field's other validator, says so
    domain = value.rpartition("@")[2]
    try:
        wire = domain.encode("idna").decode("ascii")
        forms = {wire.lower(), wire.encode("ascii").decode("idna").lower()}
    except UnicodeError:
        forms = set()
    if domain.lower() not in forms:
        raise ValidationError(UNMAILABLE, code="unmailable")


# The longest a rotated token's old secret may keep working (CONTRACT §15: at most 7 days or
# the tenant's cap): the bound of Tenant.token_max_rotation_overlap_hours, and of every overlap
# (tokens.models.MAX_OVERLAP).
MAX_ROTATION_OVERLAP_HOURS = 7 * 24


class TokenCreators(models.TextChoices):
    """Who may have API tokens for themselves (CONTRACT §16): the tenant's creation policy."""

    EVERYONE = "everyone", "Everyone"
    OPERATORS = "operators", "Security operators and full admins"
    FULL_ADMINS = "full_admins", "Full admins only"


class Tenant(models.Model):
    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=63, default="us", validators=[region_validator])
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Token policy, set by full admins on the API tokens page.
    token_expiry_required = models.BooleanField(default=False)
    token_max_lifetime_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    token_inactive_revoke_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    # A suspension older than this many days becomes a revocation at the daily sweep
    # (CONTRACT §16); empty keeps suspended tokens until someone decides.
    token_suspension_revoke_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    # The longest overlap a rotation may give the old secret, in hours; empty: the product's
    # MAX_ROTATION_OVERLAP_HOURS. 0: the old secret always stops at once. Nullable, so that the
    # previous release, still serving during a deploy, inserts tenants without it (§14).
    token_max_rotation_overlap_hours = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_ROTATION_OVERLAP_HOURS)]
    )
    # Audit events older than this many days are deleted by the daily sweep (audit.retention);
    # empty keeps every event (CONTRACT §14).
    audit_retention_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(30), MaxValueValidator(36500)]
    )
    # Networks: new API tokens must name theirs; and every token of the tenant, of any kind,
    # is used only from the tenant's (web.networks: ranges separated by spaces, "" anywhere).
    # Read on every call from the tenant cached with the token, so no query of its own.
    token_networks_required = models.BooleanField(default=False, db_default=False)
    token_networks = models.TextField(
        blank=True, default="", db_default="", validators=[networks.validate_stored]
    )
    # Days a service account whose sponsor left without a successor keeps working (CONTRACT
    # §15), so that a full admin has time to name a new one before its integration stops.
    service_account_sponsor_grace_days = models.PositiveIntegerField(
        default=30, db_default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    # Creation policy (CONTRACT §16): who may have API tokens, and whether those who are not
    # full admins must ask one for each (the approvals app). Read by tenants.permissions.
    token_creators = models.CharField(
        max_length=20,
        choices=TokenCreators,
        default=TokenCreators.EVERYONE,
        db_default=TokenCreators.EVERYONE,
    )
    token_approval_required = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "region"], name="tenant_slug_region_unique"),
        ]

    def __str__(self):
        return self.name

    @property
    def token_allowed_networks(self):
        return networks.listed(self.token_networks)

    @property
    def host(self):
        return f"{self.slug}.{self.region}.{settings.PORTAL_DOMAIN}"

    @property
    def custom_url(self):
        port = f":{settings.PORTAL_PORT}" if settings.PORTAL_PORT else ""
        return f"{settings.PORTAL_SCHEME}://{self.host}{port}/"


class Role(models.TextChoices):
    FULL_ADMIN = "full_admin", "Full admin"
    SECURITY_OPERATOR = "security_operator", "Security operator"
    SECURITY_READER = "security_reader", "Security reader"


class UserQuerySet(models.QuerySet):
    def with_email(self, email):
        """Users with this e-mail, compared as the uniqueness constraints compare: through
        the database's LOWER() on both sides (Python's lower() differs for some letters)."""
        return self.alias(email_lower=Lower("email")).filter(
            email_lower=Lower(models.Value(email, output_field=models.EmailField()))
        )

    def for_sign_in(self, email, tenant=None):
        """The users a sign-in with this e-mail may mean, at most two (two: it cannot choose).

        On a tenant's host, that tenant's user. On the generic host, a platform operator
        with this e-mail if there is one: the generic host is the only one they have, and no
        tenant can take their address away by provisioning a user with it. Else the users of
        every tenant.
        """
        users = self.with_email(email.strip()).select_related("tenant")
        if tenant is not None:
            return list(users.filter(tenant=tenant)[:1])
        found = list(users.order_by(models.F("tenant").asc(nulls_first=True))[:2])
        return found[:1] if found and found[0].tenant_id is None else found


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        # Platform operators for Django admin; they belong to no tenant.
        fields.update(is_staff=True, is_superuser=True)
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        # createsuperuser checks only a unique USERNAME_FIELD, which e-mails no longer are:
        # a ValidationError is its one-line refusal, an IntegrityError a traceback.
        user.validate_constraints()
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin):
    # Unique per tenant (Meta.constraints), not across the portal: a global unique e-mail let
    # one tenant learn, and block for good, the addresses of another (issue 14, finding 4).
    # Checked wherever it is saved (validate_user_email): one bad address must not be the
    # first of a notification run's failures (security review 3, finding 3).
    email = models.EmailField(validators=[validate_mailable])
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=32, choices=Role, default=Role.SECURITY_READER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    deprovisioned_at = models.DateTimeField(null=True, blank=True)
    # A service account (ServiceAccount): never signs in; its API tokens act with its role.
    is_service_account = models.BooleanField(default=False, db_default=False)
    # When a service account's sponsor was deprovisioned with no one to take over. On the
    # user row, not the ServiceAccount's, because the token hot path caches this row with
    # each token: the refusal after the tenant's grace costs no query (CONTRACT §15).
    sponsor_missing_since = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tenant__isnull=False) | models.Q(is_superuser=True),
                name="user_has_tenant_unless_superuser",
            ),
            # E-mail first, so the index also serves look-ups by e-mail alone (sign-in on the
            # generic host, commands without --tenant).
            models.UniqueConstraint(
                Lower("email"),
                "tenant",
                condition=models.Q(tenant__isnull=False),
                name="user_email_unique_in_tenant",
                violation_error_message="This tenant already has a user with this e-mail.",
            ),
            # NULL tenants would all differ in the constraint above: platform operators get
            # their own, so they too stay unique among themselves.
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(tenant__isnull=True),
                name="user_email_unique_on_platform",
                violation_error_message="A platform operator with this e-mail already exists.",
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def role_enum(self):
        return Role(self.role)

    @property
    def may_see_audit_log(self):
        # For audit, a floor below, which cannot import tenants.permissions; imported here
        # rather than at the top because that module reads Role from this one.
        from .permissions import may_see_audit_log

        return may_see_audit_log(self)

    def clean(self):
        super().clean()
        if self.tenant_id is not None and (self.is_staff or self.is_superuser):
            raise ValidationError(
                "Django admin is for platform operators, who have no tenant: a tenant user "
                "cannot be staff or superuser."
            )

    @property
    def service_account_name(self):
        """The name of the service account this user is, None for a person: what to show
        people instead of a service account's placeholder e-mail (SERVICE_ACCOUNT_DOMAIN).
        Load users with service_account (select_related) or this costs a query each."""
        return self.service_account.name if self.is_service_account else None

    @property
    def is_deprovisioned(self):
        return self.deprovisioned_at is not None

    def deprovision(self):
        """Refuse sign-in and end open sessions; the user and its tokens are kept."""
        with transaction.atomic():
            self.is_active = False
            self.deprovisioned_at = timezone.now()
            self.save(update_fields=["is_active", "deprovisioned_at"])
            self.end_sessions()

    def end_sessions(self):
        """Delete this user's sessions: not merely refused while is_active is false, so that
        a reactivation cannot bring one back. In the database, so every host sees it at once."""
        Session.objects.filter(portal_user__user=self).delete()

    def set_role(self, role):
        self.role = Role(role)
        self.save(update_fields=["role"])

    def sponsor_grace_ends_at(self):
        """When a service account without a sponsor stops being usable; None while it has one
        (and for people). Reads the user's tenant, which the token cache holds with it."""
        if self.sponsor_missing_since is None:
            return None
        days = self.tenant.service_account_sponsor_grace_days
        return self.sponsor_missing_since + timedelta(days=days)


def validate_user_email(value):
    """The rules of User.email, for writes without a model form (commands, SCIM): an address
    EmailValidator accepts, at most 254 characters, that the mail backends can send to."""
    User._meta.get_field("email").clean(value, None)


class UserSession(models.Model):
    """Which user a session belongs to: Django's session table cannot be searched by user.

    Filled when a user signs in (tenants.signals); the row goes with its session (sign-out,
    expiry clean-up, deprovisioning). Sessions live in the database (SESSION_ENGINE).
    """

    session = models.OneToOneField(
        Session, on_delete=models.CASCADE, primary_key=True, related_name="portal_user"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

    def __str__(self):
        return f"Session of {self.user}"


SERVICE_ACCOUNT_DOMAIN = "service-account.invalid"


class ServiceAccountQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The accounts the user may see: the tenant's for those who manage them
        (tenants.permissions), none for anyone else."""
        # Imported here: permissions reads Role from this module.
        from .permissions import service_accounts_visible_to

        return self.filter(service_accounts_visible_to(user))

    def named(self, name):
        """The account of this name; none, without asking the database, for a value no name
        can be (PostgreSQL refuses a NUL in a query, and a URL may carry one)."""
        if not re.fullmatch(SLUG_PATTERN, name):
            return self.none()
        return self.filter(name=name)


class ServiceAccount(models.Model):
    """A named, non-human identity of a tenant (CONTRACT §15): a User of the tenant marked as
    a service account (so its API tokens are ordinary tokens acting with its role at each
    call), with a description and a sponsor, the active person answerable for it.

    Its user's e-mail is made from the name under a reserved domain (RFC 2606 .invalid):
    User.email is required and unique per tenant, and no person can ever own such an address.
    """

    # No foreign-key constraints in the database yet (db_constraint=False), only the ORM's
    # PROTECT: the previous release, which keeps serving on this schema (CONTRACT §14), does
    # not know this table, and a constraint here would make its TRUNCATE of users and tenants
    # fail (its test teardown; `previous_release` runs its tests). The constraints come one
    # release later, with the contracting steps.
    user = models.OneToOneField(
        User,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="service_account",
        db_constraint=False,
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="service_accounts", db_constraint=False
    )
    name = models.CharField(
        max_length=63,
        validators=[
            RegexValidator(
                SLUG_PATTERN,
                "A service account name is 1-63 lowercase letters, digits or hyphens, "
                "not starting or ending with a hyphen.",
            )
        ],
    )
    description = models.CharField(max_length=500, blank=True, default="")
    # PROTECT: a sponsor is deprovisioned, never deleted, while it sponsors (tenants.services).
    sponsor = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="sponsored_accounts", db_constraint=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ServiceAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="service_account_name_unique_in_tenant",
                violation_error_message="This tenant already has a service account of this name.",
            ),
        ]

    def __str__(self):
        return self.name

    @staticmethod
    def email_for(name):
        return f"{name}@{SERVICE_ACCOUNT_DOMAIN}"

    @property
    def sponsor_missing(self):
        return self.user.sponsor_missing_since is not None


def sponsor_refusal(sponsor, tenant):
    """Why this user cannot sponsor a service account of the tenant, or None: a sponsor is an
    active person of the same tenant."""
    if sponsor.tenant_id != tenant.pk:
        return f"{sponsor.email} is not a user of {tenant.slug}."
    if sponsor.is_service_account:
        return f"{sponsor.email} is a service account; a sponsor is a person."
    if sponsor.is_deprovisioned or not sponsor.is_active:
        return f"{sponsor.email} is deprovisioned; a sponsor is an active person."
    return None
