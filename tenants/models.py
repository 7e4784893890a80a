from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils import timezone

SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
slug_validator = RegexValidator(
    SLUG_PATTERN,
    "A tenant slug is a DNS label: 1-63 lowercase letters, digits or hyphens, "
    "not starting or ending with a hyphen.",
)
region_validator = RegexValidator(
    SLUG_PATTERN, "A region is a DNS label: lowercase letters, digits or hyphens."
)


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

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "region"], name="tenant_slug_region_unique"),
        ]

    def __str__(self):
        return self.name

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

    @property
    def can_write(self):
        return self in (Role.FULL_ADMIN, Role.SECURITY_OPERATOR)

    @property
    def sees_all_tokens(self):
        return self == Role.FULL_ADMIN

    @property
    def administers_tenant(self):
        """Audit log, token policy, SIEM agents, log collectors."""
        return self == Role.FULL_ADMIN


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        # Platform operators for Django admin; they belong to no tenant.
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=32, choices=Role, default=Role.SECURITY_READER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    deprovisioned_at = models.DateTimeField(null=True, blank=True)
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
        ]

    def __str__(self):
        return self.email

    @property
    def role_enum(self):
        return Role(self.role)

    @property
    def can_write(self):
        """Whether this user, and so each of its tokens, may alter data right now."""
        return self.is_active and self.role_enum.can_write

    @property
    def sees_all_tokens(self):
        return self.role_enum.sees_all_tokens

    @property
    def administers_tenant(self):
        return self.role_enum.administers_tenant

    @property
    def is_platform_operator(self):
        """May use Django admin: staff without a tenant. Tenant users never may, whatever
        their flags: admin sees every tenant, and a tenant may allow single sign-on only."""
        return self.is_active and self.is_staff and self.tenant_id is None

    def clean(self):
        super().clean()
        if self.tenant_id is not None and (self.is_staff or self.is_superuser):
            raise ValidationError(
                "Django admin is for platform operators, who have no tenant: a tenant user "
                "cannot be staff or superuser."
            )

    @property
    def is_deprovisioned(self):
        return self.deprovisioned_at is not None

    def deprovision(self):
        """Refuse sign-in and end open sessions; the user and its tokens are kept."""
        # is_active=False is what Django's auth backend and session lookup already refuse, so
        # every open session of this user stops at its next request.
        with transaction.atomic():
            self.is_active = False
            self.deprovisioned_at = timezone.now()
            self.save(update_fields=["is_active", "deprovisioned_at"])

    def set_role(self, role):
        self.role = Role(role)
        self.save(update_fields=["role"])
