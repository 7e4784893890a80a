"""Where SCIM reads and writes users: one tenant's users, through scim2-server's storage API.

The tenant is the provisioning token's, fixed when the storage is made: every query below
filters on it, so a client can never read or touch another tenant's users, whatever the id
it sends or the host it calls.
"""

import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Lower
from django.utils import timezone
from pydantic import EmailStr
from pydantic import ValidationError as PydanticValidationError
from scim2_models import (
    Email,
    EnterpriseUser,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Required,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
    UniquenessException,
    User,
)
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, Not, ValuePath
from scim2_server.storage import ScimStorage, SearchPage

from audit.models import Action, Via
from audit.services import audit_record
from tenants.models import User as AccountUser
from tenants.models import validate_user_email
from tenants.services import user_deprovision, user_set_email, user_set_role
from web.text import is_text

from .models import IdentitySettings, RoleSource, ScimIdentity
from .services import user_reactivate, user_reprovision


class PortalEmail(Email):
    value: Annotated[EmailStr | None, Required.true] = None


class ScimPortalUser(User):
    """RFC 7643's User, with an e-mail required: the portal signs people in by e-mail, so
    the published schema says so and clients send one (the primary one is the portal's)."""

    emails: Annotated[list[PortalEmail] | None, Required.true] = None


UserResource = ScimPortalUser[EnterpriseUser]
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
TEXT_MAX_LENGTH = 300  # userName and externalId, as stored
EMAIL_TAKEN = "A user of this tenant already has this e-mail."
RESOURCE_MAX_LENGTH = 64 * 1024  # a whole user resource, as stored (JSON characters)


@dataclass(frozen=True)
class Caller:
    """Who writes through SCIM, for the audit trail: the provisioning token, and no person.

    The token is the tenant's: the admin who generated it (its owner) may have left long
    before the provider acts, so events name the token and SCIM, never that admin.
    """

    token: Any
    client_ip: str | None
    user = None


def version_tag(version):
    return f'W/"{version}"'


def portal_email(resource):
    """The portal e-mail of a SCIM user: its primary e-mail, else its work e-mail, else its
    first one, else its userName. It must be an address the portal can mail
    (tenants.models.validate_user_email)."""
    emails = [email for email in resource.emails or [] if email.value]
    chosen = (
        next((email for email in emails if email.primary), None)
        or next((email for email in emails if str(email.type or "").lower() == "work"), None)
        or (emails[0] if emails else None)
    )
    candidate = (chosen.value if chosen else resource.user_name or "").strip().lower()
    try:
        validate_user_email(candidate)
    except ValidationError as error:
        raise InvalidValueException(
            detail="A user needs an e-mail address to sign in with: give one in emails "
            f"(the primary one is used) or as userName. {' '.join(error.messages)}"
        ) from None
    return candidate


def check_storable(resource):
    """Refuse, as a SCIM 400, what the database would refuse with an error (a 500): NUL and
    lone surrogates in any string, userName or externalId longer than their columns; and a
    resource too big to be a person's (every string is kept whole in the JSON column)."""
    for name, value in (("userName", resource.user_name), ("externalId", resource.external_id)):
        if value is not None and len(value) > TEXT_MAX_LENGTH:
            raise InvalidValueException(
                detail=f"{name} is longer than {TEXT_MAX_LENGTH} characters."
            )
    stored = stored_form(resource)
    if not all(is_text(text) for text in _strings(stored)):
        raise InvalidValueException(
            detail="Text values cannot contain NUL characters or invalid Unicode."
        )
    if len(json.dumps(stored, ensure_ascii=False)) > RESOURCE_MAX_LENGTH:
        raise InvalidValueException(
            detail=f"The user is larger than {RESOURCE_MAX_LENGTH // 1024} KB as stored."
        )


def _strings(data):
    """Every string in a JSON document, object keys included."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def _filter_values(node):
    """The values a filter compares with."""
    if isinstance(node, Comparison):
        yield node.value
    elif isinstance(node, Not):
        yield from _filter_values(node.expr)
    elif isinstance(node, LogicalExpr):
        for term in node.terms:
            yield from _filter_values(term)
    elif isinstance(node, ValuePath):
        yield from _filter_values(node.val_filter)


def check_filter(search_request):
    """Refuse filter values no stored user could match and a database may refuse (a 500):
    NUL, which PostgreSQL refuses in a query, and values longer than a whole stored user."""
    node = getattr(search_request.filter, "ast", None)
    for value in _filter_values(node):
        if isinstance(value, str) and not is_text(value):
            raise InvalidValueException(detail="Filter values cannot contain NUL characters.")
        if isinstance(value, str) and len(value) > RESOURCE_MAX_LENGTH:
            raise InvalidValueException(detail="A filter value is longer than any user.")


def mapped_values(resource, source):
    """The values of the role-mapping attribute, or None when the resource does not carry it
    (the user then keeps its role; a new user gets the default role)."""
    if source == RoleSource.ROLES:
        return None if resource.roles is None else [role.value for role in resource.roles]
    if source == RoleSource.USER_TYPE:
        return None if resource.user_type is None else [resource.user_type]
    if source == RoleSource.TITLE:
        return None if resource.title is None else [resource.title]
    extension = resource[EnterpriseUser]
    if extension is None or extension.department is None:
        return None
    return [extension.department]


def stored_form(resource):
    """The resource as kept: no id or meta (the row holds them), and never a password.

    Passwords are not accepted through SCIM: users sign in with single sign-on, and local
    passwords are a break-glass matter for manage.py.
    """
    data = resource.model_dump(mode="json")
    for key in ("id", "meta", "password"):
        data.pop(key, None)
    return data


def _valid_scim_email(value):
    try:
        Email(value=value)
    except PydanticValidationError:
        return False
    return True


def _equality_user_name(search_request):
    """The value of a filter that is exactly `userName eq "…"`, which the database answers."""
    scim_filter = search_request.filter
    node = getattr(scim_filter, "ast", None)
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq:
        return None
    if str(node.attr_path).lower() not in ("username", f"{USER_SCHEMA}:username".lower()):
        return None
    return node.value if isinstance(node.value, str) else None


class TenantUserStorage(ScimStorage):
    """The users of one tenant, as SCIM User resources (with the enterprise extension)."""

    def __init__(self, *, tenant, caller):
        self.tenant = tenant
        self.caller = caller

    def operation(self):
        # Each SCIM operation is one transaction: a refused write changes nothing.
        return transaction.atomic()

    # -- reads ------------------------------------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        return self.to_resource(self._identity(resource_id))

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        check_filter(search_request)
        self._ensure_identities()
        identities = self._live().select_related("user")
        user_name = _equality_user_name(search_request)
        if user_name is not None:
            # The question identity providers ask before creating a user: one look-up in the
            # index of scim_user_name_unique (no LIKE pattern, which SQLite caps in length).
            identities = identities.alias(name=Lower("user_name")).filter(
                name=Lower(Value(user_name, output_field=CharField()))
            )
        found = [self.to_resource(identity) for identity in identities.order_by("created_at")]
        if search_request.filter is not None and user_name is None:
            found = [resource for resource in found if search_request.filter.match(resource)]
        if search_request.sort_by is not None:
            present = [r for r in found if search_request.sort_value(r) is not None]
            missing = [r for r in found if search_request.sort_value(r) is None]
            present.sort(
                key=search_request.sort_value,
                reverse=search_request.sort_order == SearchRequest.SortOrder.descending,
            )
            found = present + missing
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        return SearchPage(total=len(found), resources=found[start:stop])

    def _live(self):
        # Service accounts are the tenant's, not the directory's: never listed nor changed.
        return ScimIdentity.objects.live().filter(
            tenant=self.tenant, user__is_service_account=False
        )

    def _identity(self, resource_id, *, for_update=False):
        try:
            scim_id = uuid.UUID(str(resource_id))
        except ValueError:
            raise NotFoundException(detail=f"No user with id {resource_id!r}.") from None
        identities = self._live().select_related("user")
        if for_update:
            identities = identities.select_for_update()
        identity = identities.filter(scim_id=scim_id).first()
        if identity is None:
            raise NotFoundException(detail=f"No user with id {resource_id!r}.")
        return identity

    def _ensure_identities(self):
        """Give an identity to the tenant's users made by other means (manage.py, the demo),
        so that an identity provider can find and link them before creating anyone."""
        # Users with no identity at all: a user deleted through SCIM keeps its deleted one,
        # and so stays out of the listing.
        missing = AccountUser.objects.filter(
            tenant=self.tenant, scim_identities__isnull=True, is_service_account=False
        )
        ScimIdentity.objects.bulk_create(
            [
                ScimIdentity(user=user, tenant=self.tenant, user_name=user.email)
                for user in missing.only("pk", "email")
            ],
            ignore_conflicts=True,
        )

    def to_resource(self, identity):
        user = identity.user
        data = dict(identity.resource) or {
            "schemas": [USER_SCHEMA],
            "userName": identity.user_name,
            "emails": [{"value": user.email, "primary": True}],
        }
        if not identity.resource and not _valid_scim_email(user.email):
            # SCIM refuses addresses on reserved names (e.g. .test, in the demo data); the
            # userName still carries the e-mail.
            del data["emails"]
        # The portal decides whether the user may sign in (manage.py can deprovision too).
        if (data.get("active") is not False) != user.is_active:
            data["active"] = user.is_active
        data["id"] = str(identity.scim_id)
        data["meta"] = {
            "resourceType": "User",
            "created": identity.created_at.isoformat(),
            "lastModified": identity.modified_at.isoformat(),
            "version": version_tag(identity.version),
        }
        return UserResource.model_validate(data)

    # -- writes -----------------------------------------------------------------------------

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        check_storable(resource)
        email = portal_email(resource)
        former = self._check_unique(resource.user_name, email)
        settings = self._settings()
        values = mapped_values(resource, settings.role_source)
        role = settings.role_for(values or [])
        try:
            with transaction.atomic():
                if former is None:
                    user = AccountUser.objects.create_user(
                        email, None, tenant=self.tenant, role=role
                    )
                    detail = f"Provisioned as {role.label}."
                else:
                    user, detail = former, self._reprovision(former, role)
                identity = ScimIdentity.objects.create(
                    user=user,
                    tenant=self.tenant,
                    user_name=resource.user_name,
                    external_id=resource.external_id or "",
                    resource=stored_form(resource),
                )
        except IntegrityError:  # a concurrent create took the e-mail or userName first
            raise UniquenessException(detail="A user with this e-mail already exists.") from None
        self._audit(Action.USER_PROVISIONED, user, detail)
        if resource.active is False:
            user_deprovision(user=user, by=self.caller.user, via=Via.SCIM, client_ip=self._ip)
        return self.to_resource(identity)

    def _reprovision(self, user, role):
        """The account of a user deleted through SCIM, made new for its new identity."""
        deleted = user.scim_identities.order_by("-deleted_at").first().deleted_at
        revoked = user_reprovision(user=user, role=role, by=self.caller.user, client_ip=self._ip)
        return (
            f"Provisioned again as {role.label}: the account deleted through SCIM on "
            f"{deleted:%Y-%m-%d}, with a new id; {revoked} token(s) issued before were revoked "
            "and its sessions and password ended."
        )

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        check_storable(resource)
        identity = self._identity(resource.id, for_update=True)
        self._check_version(identity, expected_version)
        user = identity.user
        email = portal_email(resource)
        self._check_unique(resource.user_name, email, identity=identity)
        try:
            user_set_email(
                user=user,
                email=email,
                by=self.caller.user,
                via=Via.SCIM,
                token=self.caller.token,
                client_ip=self._ip,
            )
        except IntegrityError:  # a concurrent write took the e-mail first
            raise UniquenessException(detail=EMAIL_TAKEN) from None
        values = mapped_values(resource, self._settings().role_source)
        if values is not None:
            role = self._settings().role_for(values)
            user_set_role(
                user=user, role=role, by=self.caller.user, via=Via.SCIM, client_ip=self._ip
            )
        # Only an explicit value changes the state: a PUT without `active` (RFC 7644 lets
        # clients leave out what they do not manage) must not undo a deprovisioning.
        if resource.active is False and user.is_active:
            user_deprovision(user=user, by=self.caller.user, via=Via.SCIM, client_ip=self._ip)
        elif resource.active is True and not user.is_active:
            user_reactivate(
                user=user, by=self.caller.user, token=self.caller.token, client_ip=self._ip
            )
        identity.user_name = resource.user_name
        identity.external_id = resource.external_id or ""
        identity.resource = stored_form(resource)
        identity.version += 1
        identity.modified_at = timezone.now()
        try:
            with transaction.atomic():
                identity.save()
        except IntegrityError:
            raise UniquenessException(detail="Another user has this userName.") from None
        return self.to_resource(identity)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        """Deprovision, exactly as `manage.py deprovisionuser` does; the account is kept."""
        identity = self._identity(resource_id, for_update=True)
        self._check_version(identity, expected_version)
        identity.deleted_at = timezone.now()
        identity.save(update_fields=["deleted_at"])
        user = identity.user
        if not user_deprovision(user=user, by=self.caller.user, via=Via.SCIM, client_ip=self._ip):
            self._audit(Action.USER_UPDATED, user, "Deleted through SCIM; already deprovisioned.")

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _ip(self):
        return self.caller.client_ip

    def _settings(self):
        if not hasattr(self, "_identity_settings"):
            found = IdentitySettings.objects.filter(tenant=self.tenant).first()
            self._identity_settings = found or IdentitySettings(tenant=self.tenant)
        return self._identity_settings

    def _check_unique(self, user_name, email, identity=None):
        """Refuse a userName or e-mail taken in this tenant (e-mails are unique per tenant
        only: another tenant's users are neither seen nor in the way). On creation, return
        the user whose SCIM identity was deleted and who has this e-mail: it is provisioned
        again rather than refused."""
        names = self._live().alias(name=Lower("user_name"))
        names = names.filter(name=Lower(Value(user_name, output_field=CharField())))
        users = AccountUser.objects.with_email(email).filter(tenant=self.tenant)
        if identity is not None:
            names = names.exclude(pk=identity.pk)
            users = users.exclude(pk=identity.user_id)
        if names.exists():
            raise UniquenessException(detail="Another user has this userName.")
        user = users.first()
        if user is None:
            return None
        deleted_only = (
            identity is None
            and user.scim_identities.exists()
            and not user.scim_identities.live().exists()
        )
        if not deleted_only:
            raise UniquenessException(detail=EMAIL_TAKEN)
        return user

    @staticmethod
    def _check_version(identity, expected_version):
        if expected_version is not None and version_tag(identity.version) != expected_version:
            raise PreconditionFailedException(detail="The user changed since that version.")

    def _audit(self, action, user, detail):
        audit_record(
            tenant=self.tenant,
            action=action,
            via=Via.SCIM,
            actor=self.caller.user,
            subject=user,
            token=self.caller.token,
            client_ip=self._ip,
            detail=detail,
        )
