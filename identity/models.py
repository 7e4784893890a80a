"""Per-tenant identity integration: OpenID Connect sign-in and SCIM provisioning (CONTRACT §9)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from tenants.models import Role, Tenant


class RoleSource(models.TextChoices):
    """The SCIM attribute whose values pick a user's role."""

    ROLES = "roles", "roles (the user's roles values)"
    USER_TYPE = "userType", "userType"
    TITLE = "title", "title"
    DEPARTMENT = "department", "department (enterprise extension)"


class IdentitySettings(models.Model):
    """One tenant's identity settings, edited by full admins on Settings › Identity.

    The client secret is write-only: pages only ever say whether it is set.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="identity")
    sso_enabled = models.BooleanField(default=False)
    provider_name = models.CharField(max_length=60, blank=True)
    issuer = models.URLField(max_length=300, blank=True)
    client_id = models.CharField(max_length=300, blank=True)
    client_secret = models.CharField(max_length=500, blank=True)
    password_sign_in = models.BooleanField(default=True)
    # SCIM role mapping: values of role_source (compared case-insensitively) per role; a user
    # whose values match several roles gets the most privileged one.
    role_source = models.CharField(max_length=20, choices=RoleSource, default=RoleSource.ROLES)
    full_admin_values = models.JSONField(default=list, blank=True)
    security_operator_values = models.JSONField(default=list, blank=True)
    security_reader_values = models.JSONField(default=list, blank=True)
    default_role = models.CharField(max_length=32, choices=Role, default=Role.SECURITY_READER)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "identity settings"

    def __str__(self):
        return f"Identity settings of {self.tenant}"

    @property
    def sso_ready(self):
        """Single sign-on is on and has everything a sign-in needs."""
        return bool(
            self.sso_enabled
            and self.provider_name
            and self.issuer
            and self.client_id
            and self.client_secret
        )

    def secret_belongs_to(self, issuer, client_id):
        """The stored client secret was given for this client at this issuer. It is never
        kept for another: sent to a new issuer, it would be handed to whoever runs it."""
        return (issuer, client_id) == (self.issuer, self.client_id)

    @property
    def passwords_allowed(self):
        # Passwords can only be off while single sign-on can take over, so a half-finished
        # configuration never locks a tenant out.
        return self.password_sign_in or not self.sso_ready

    def role_values(self):
        """(role, values) from the most to the least privileged."""
        return [
            (Role.FULL_ADMIN, self.full_admin_values),
            (Role.SECURITY_OPERATOR, self.security_operator_values),
            (Role.SECURITY_READER, self.security_reader_values),
        ]

    def role_for(self, values):
        """The role that SCIM attribute values map to: the most privileged match, else the
        default role."""
        wanted = {str(value).strip().casefold() for value in values if value is not None}
        for role, configured in self.role_values():
            if wanted & {value.casefold() for value in configured}:
                return role
        return Role(self.default_role)


def identity_settings_of(tenant):
    """The tenant's settings, unsaved defaults when it has none yet (no write on read)."""
    if tenant is None:
        return None
    found = IdentitySettings.objects.filter(tenant=tenant).first()
    return found or IdentitySettings(tenant=tenant)


class ScimIdentityQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)


class ScimIdentity(models.Model):
    """A user as the tenant's SCIM client sees it: an opaque id and the SCIM resource.

    The resource is kept whole (minus any password) so that what a client wrote reads back
    unchanged; the portal's own fields (e-mail, role, active) are projected onto the user.
    Users created by other means get one on their first SCIM listing. A SCIM DELETE sets
    deleted_at and deprovisions the user; the rows stay for the audit trail. Provisioning the
    same e-mail again gives the same user a new identity (a new id, as RFC 7644 clients
    expect after a DELETE): a user has at most one live identity, and any number of deleted.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scim_identities"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user_name = models.CharField(max_length=300)
    external_id = models.CharField(max_length=300, blank=True)
    resource = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    modified_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ScimIdentityQuerySet.as_manager()

    class Meta:
        constraints = [
            # userName is unique per tenant, case-insensitively (RFC 7643 §4.1.1), among the
            # users a SCIM client still sees.
            models.UniqueConstraint(
                "tenant",
                Lower("user_name"),
                condition=models.Q(deleted_at__isnull=True),
                name="scim_user_name_unique",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(deleted_at__isnull=True),
                name="scim_one_live_identity_per_user",
            ),
        ]

    def __str__(self):
        return self.user_name


def password_refusal(tenant):
    """Why a password sign-in to the tenant is refused (it signs in with single sign-on
    only), or None when passwords are allowed. Users without a tenant are never refused."""
    identity = IdentitySettings.objects.filter(tenant=tenant).first() if tenant else None
    if identity is None or identity.passwords_allowed:
        return None
    return (
        f"{tenant.name} signs in with single sign-on only: use “Sign in with "
        f"{identity.provider_name}” at {tenant.custom_url}login/."
    )
