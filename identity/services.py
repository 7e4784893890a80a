"""Writes of the identity integration; each appends its audit event."""

import uuid

from django.db import transaction
from django.utils import timezone

from audit.models import Action, AuditEvent, Via
from audit.services import audit_record, audit_user_event
from tenants.models import User
from tenants.services import user_deprovision, user_set_email, user_set_role
from tokens.models import Token
from tokens.services import token_revoke
from web import invalidation

from . import discovery
from .models import IdentitySettings, ScimIdentity

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def identity_settings_save(*, form, by, client_ip=None):
    """Save a valid settings form (SSO or role mapping) and audit what it changed."""
    if not form.has_changed():
        return form.instance
    old_issuer = form.initial.get("issuer")
    with transaction.atomic():
        identity = form.save(commit=False)
        identity.updated_at = timezone.now()
        identity.save()
        audit_record(
            tenant=identity.tenant,
            action=Action.IDENTITY_SETTINGS_CHANGED,
            actor=by,
            client_ip=client_ip,
            detail=form.change_summary(),
        )
    if "issuer" in form.fields:
        # The next sign-in asks the provider again: a full admin who just fixed it is not left
        # waiting out a remembered failure.
        discovery.forget(old_issuer, identity.issuer)
    return identity


def password_sign_in_set(*, tenant, allowed, by=None, via=Via.COMMAND):
    """Turn password sign-in on or off for a tenant (the break-glass command uses it)."""
    with transaction.atomic():
        identity, _ = IdentitySettings.objects.get_or_create(tenant=tenant)
        if identity.password_sign_in == allowed:
            return False
        identity.password_sign_in = allowed
        identity.updated_at = timezone.now()
        identity.save(update_fields=["password_sign_in", "updated_at"])
        audit_record(
            tenant=tenant,
            action=Action.IDENTITY_SETTINGS_CHANGED,
            actor=by,
            via=via,
            detail=f"Password sign-in turned {'on' if allowed else 'off'}.",
        )
    return True


def user_reactivate(*, user, by=None, via=Via.SCIM, token=None, client_ip=None, how=None):
    """Let a deprovisioned user sign in again.

    Its tokens do not come back: every live token it kept is revoked, so a credential that
    may have leaked while the account was closed cannot return with it (its sessions ended
    with the deprovisioning). The event says how and when the user had been deprovisioned:
    a routine sync undoing an emergency `deprovisionuser` must stand out. False if the user
    was not deprovisioned. how says how it was reactivated (default: through via).
    """
    if user.is_active and not user.is_deprovisioned:
        return False
    closed = _how_closed(user)
    with transaction.atomic():
        user.is_active = True
        user.deprovisioned_at = None
        user.save(update_fields=["is_active", "deprovisioned_at"])
        revoked = _revoke_kept_tokens(
            user,
            by=by,
            via=via,
            client_ip=client_ip,
            detail="its deprovisioned owner was reactivated",
        )
        audit_user_event(
            user,
            Action.USER_REACTIVATED,
            via=via,
            actor=by,
            token=token,
            client_ip=client_ip,
            detail=f"Reactivated {how or f'through {Via(via).label}'}; {closed}; {revoked} kept "
            "token(s) revoked.",
        )
        invalidation.announce(user.tenant_id)
    return True


# The changes of a tenant user that have a write of their own: audited, and announced to every
# host (contract §10). Whatever else Django admin edits is saved as it is.
ADMIN_AUDITED_FIELDS = ("email", "role", "is_active")


def user_admin_save(*, user, changed, by, client_ip=None):
    """Save a user added or edited by a platform operator in Django admin (the fields in
    changed): a change of e-mail or role, a deactivation (deprovisioning) or a reactivation
    (its kept tokens revoked) goes through its own write, as through SCIM or a command."""
    if user.pk is None:
        user.save()  # a new user: nothing is cached about it, nothing happened to audit
        return
    stored = User.objects.select_related("tenant").get(pk=user.pk)
    tenants = {stored.tenant_id, user.tenant_id} - {None}
    # Platform operators have no tenant: no trail to write to, no tokens cached.
    audited = [name for name in ADMIN_AUDITED_FIELDS if name in changed and user.tenant_id]
    plain = [name for name in changed if name not in audited]
    with transaction.atomic():
        if plain:
            for name in plain:
                setattr(stored, name, getattr(user, name))
            stored.save(update_fields=plain)
            for tenant_id in tenants:  # a user moved to another tenant: both
                invalidation.announce(tenant_id)
        in_admin = {"by": by, "via": Via.PAGE, "client_ip": client_ip}
        if "email" in audited:
            user_set_email(user=stored, email=user.email, **in_admin)
        if "role" in audited:
            user_set_role(user=stored, role=user.role, **in_admin)
        if "is_active" in audited and not user.is_active:
            user_deprovision(user=stored, **in_admin)
        elif "is_active" in audited:
            user_reactivate(user=stored, how="by a platform operator in Django admin", **in_admin)
    user.refresh_from_db()


def user_reprovision(*, user, role, by=None, client_ip=None):
    """Make the account of a user deleted through SCIM new again for a new SCIM identity: it
    keeps its audit trail, and nothing from before the deletion (tokens, sessions, password)
    works again. Returns how many tokens were revoked; the caller audits the provisioning."""
    with transaction.atomic():
        user.end_sessions()
        user.set_unusable_password()  # like any user SCIM creates: it signs in with SSO
        user.role = role
        user.is_active = True
        user.deprovisioned_at = None
        user.save(update_fields=["password", "role", "is_active", "deprovisioned_at"])
        invalidation.announce(user.tenant_id)
        return _revoke_kept_tokens(
            user, by=by, via=Via.SCIM, client_ip=client_ip, detail="its owner was provisioned again"
        )


def _revoke_kept_tokens(user, *, by, via, client_ip, detail):
    revoked = 0
    # Only the tokens that act as the user: the tenant's tokens it created are not its.
    for kept in Token.objects.live().api().filter(owner=user).select_related("tenant", "owner"):
        revoked += token_revoke(
            token=kept, by=by, via=via, client_ip=client_ip, detail=f"Revoked when {detail}."
        )
    return revoked


def _how_closed(user):
    """How and when the user was deprovisioned, from its last deprovisioning event."""
    event = (
        AuditEvent.objects.filter(
            tenant=user.tenant, action=Action.USER_DEPROVISIONED, subject=user
        )
        .order_by("-created_at", "-id")
        .first()
    )
    how = {Via.COMMAND: "with deprovisionuser", Via.SCIM: "through SCIM"}.get(
        event and event.via, "by other means"
    )
    when = user.deprovisioned_at or (event and event.created_at)
    return f"had been deprovisioned {how}" + (f" on {when:%Y-%m-%d}" if when else "")


def directory_manager(user):
    """The user's manager as the directory last provisioned it (the SCIM enterprise
    extension's `manager`, the SCIM id of another user of the tenant), or None.

    Read by tenants.services through settings.DIRECTORY_MANAGER, as a floor below cannot
    import this one: a deprovisioned sponsor's service accounts pass to this person.
    """
    identity = ScimIdentity.objects.live().filter(user=user).first()
    extension = (identity.resource or {}).get(ENTERPRISE_USER) if identity else None
    manager = extension.get("manager") if isinstance(extension, dict) else None
    value = manager.get("value") if isinstance(manager, dict) else None
    if not isinstance(value, str):
        return None
    try:
        scim_id = uuid.UUID(value)
    except ValueError:
        return None
    found = ScimIdentity.objects.live().filter(tenant_id=user.tenant_id, scim_id=scim_id)
    found = found.select_related("user").first()
    return found.user if found else None
