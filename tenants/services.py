"""Writes about users that also append an audit event."""

from django.db import transaction

from audit.models import Action, Via
from audit.services import audit_record

from .models import Role


def user_deprovision(*, user, by=None, via=Via.COMMAND, client_ip=None):
    """Deprovision once (sessions end, tokens refused); False if it already was."""
    if user.is_deprovisioned:
        return False
    with transaction.atomic():
        user.deprovision()
        audit_record(
            tenant=user.tenant,
            action=Action.USER_DEPROVISIONED,
            via=via,
            actor=by,
            subject=user,
            client_ip=client_ip,
            detail="Sign-in refused; tokens kept but refused.",
        )
    return True


def user_set_role(*, user, role, by=None, via=Via.COMMAND, client_ip=None):
    role = Role(role)
    previous = user.role_enum
    if previous == role:
        return False
    with transaction.atomic():
        user.set_role(role)
        audit_record(
            tenant=user.tenant,
            action=Action.USER_ROLE_CHANGED,
            via=via,
            actor=by,
            subject=user,
            client_ip=client_ip,
            detail=f"{previous.label} → {role.label}.",
        )
    return True
