"""Writes of the identity integration; each appends its audit event."""

from django.db import transaction
from django.utils import timezone

from audit.models import Action, Via
from audit.services import audit_record
from tokens.models import Token
from tokens.services import token_revoke

from . import discovery
from .models import IdentitySettings


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


def user_reactivate(*, user, by=None, via=Via.SCIM, token=None, client_ip=None):
    """Let a deprovisioned user sign in again.

    Its tokens do not come back: every live token it kept is revoked, so a credential that
    may have leaked while the account was closed cannot return with it. False if the user
    was not deprovisioned.
    """
    if user.is_active and not user.is_deprovisioned:
        return False
    with transaction.atomic():
        user.is_active = True
        user.deprovisioned_at = None
        user.save(update_fields=["is_active", "deprovisioned_at"])
        revoked = 0
        # Only the tokens that act as the user: the tenant's tokens it created are not its.
        kept_tokens = Token.objects.live().api().filter(owner=user)
        for kept in kept_tokens.select_related("tenant", "owner"):
            revoked += token_revoke(
                token=kept,
                by=by,
                via=via,
                client_ip=client_ip,
                detail="Revoked when its deprovisioned owner was reactivated.",
            )
        audit_record(
            tenant=user.tenant,
            action=Action.USER_REACTIVATED,
            via=via,
            actor=by,
            subject=user,
            token=token,
            client_ip=client_ip,
            detail=f"Sign-in allowed again; {revoked} kept token(s) revoked.",
        )
    return True
