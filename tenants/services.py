"""Writes about tenants and users. Each appends its audit event where the tenant's admins must
see the change, and, in the same transaction, makes what every process caches about the
tenant stale (web.invalidation): cached tokens carry their owner and their tenant, so once
one of these returns, the next call on any host is decided on the new state."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.models import Action, Via
from audit.services import audit_record, audit_user_event
from web import invalidation

from .models import Role, ServiceAccount, Tenant, TokenCreators, User, sponsor_refusal

DEFAULT_SPONSOR_GRACE_DAYS = Tenant._meta.get_field("service_account_sponsor_grace_days").default
POLICY_FIELDS = (
    "token_expiry_required",
    "token_max_lifetime_days",
    "token_inactive_revoke_days",
    "token_suspension_revoke_days",
    "token_max_rotation_overlap_hours",
    "token_networks_required",
    "token_networks",
    "audit_retention_days",
    "service_account_sponsor_grace_days",
    "token_creators",
    "token_approval_required",
)


def tenant_save(*, tenant, changed=(), by=None, via=Via.PAGE, client_ip=None):
    """Save a new or edited tenant (createtenant, its token policy page, Django admin); a
    change of its token policy, among the changed fields, is audited."""
    adding = tenant.pk is None
    with transaction.atomic():
        tenant.save()
        if set(changed) & set(POLICY_FIELDS):
            audit_record(
                tenant=tenant,
                action=Action.POLICY_CHANGED,
                via=via,
                actor=by,
                client_ip=client_ip,
                detail=_policy_summary(tenant),
            )
        if not adding:  # a new tenant has nothing cached
            invalidation.announce(tenant.pk)
    return tenant


def _policy_summary(tenant):
    parts = ["expiry required" if tenant.token_expiry_required else "expiry optional"]
    if tenant.token_max_lifetime_days:
        parts.append(f"max lifetime {tenant.token_max_lifetime_days} days")
    if tenant.token_inactive_revoke_days:
        parts.append(f"revoke after {tenant.token_inactive_revoke_days} days unused")
    if tenant.token_suspension_revoke_days:
        parts.append(f"revoke after {tenant.token_suspension_revoke_days} days suspended")
    hours = tenant.token_max_rotation_overlap_hours
    if hours is not None:
        parts.append(
            f"old values work at most {hours} hour{'s' if hours != 1 else ''} after a rotation"
        )
    if tenant.token_networks_required:
        parts.append("new tokens name allowed networks")
    if tenant.token_networks:
        parts.append(f"tokens used only from {', '.join(tenant.token_allowed_networks)}")
    if tenant.audit_retention_days:
        parts.append(f"audit events kept {tenant.audit_retention_days} days")
    if tenant.service_account_sponsor_grace_days != DEFAULT_SPONSOR_GRACE_DAYS:
        days = tenant.service_account_sponsor_grace_days
        parts.append(f"service accounts work {days} days without a sponsor")
    if tenant.token_creators != TokenCreators.EVERYONE:
        # Lower case throughout: the summary is capitalize()d.
        parts.append(f"tokens only for {TokenCreators(tenant.token_creators).label.lower()}")
    if tenant.token_approval_required:
        parts.append("new tokens need a full admin's approval")
    return ", ".join(parts).capitalize() + "."


def tenant_delete(*, tenant):
    """Delete a tenant that holds nothing (users, tokens and events protect it)."""
    with transaction.atomic():
        tenant_id = tenant.pk
        tenant.delete()
        invalidation.announce(tenant_id)


def user_deprovision(*, user, by=None, via=Via.COMMAND, client_ip=None):
    """Deprovision once (sessions end, tokens refused); False if it already was."""
    # Both, not the date alone: Django admin once reactivated users by is_active only.
    if user.is_deprovisioned and not user.is_active:
        return False
    with transaction.atomic():
        user.deprovision()
        audit_user_event(
            user,
            Action.USER_DEPROVISIONED,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail="Sign-in refused; tokens kept but refused.",
        )
        _sponsor_left(user, by=by, via=via, client_ip=client_ip)
        invalidation.announce(user.tenant_id)
    return True


def _sponsor_left(person, *, by, via, client_ip):
    """The service accounts a deprovisioned person sponsored keep working (their tokens are
    the tenant's integrations, not the person's scripts): they pass to the person's manager
    when the directory names one who may sponsor, else they are flagged from now, and after
    the tenant's grace refused until a full admin names a new sponsor."""
    now = timezone.now()
    accounts = list(ServiceAccount.objects.filter(sponsor=person).select_related("user"))
    manager = _directory_manager(person) if accounts else None
    for account in accounts:
        if manager is not None:
            account.sponsor = manager
            account.save(update_fields=["sponsor"])
            account.user.sponsor_missing_since = None
            account.user.save(update_fields=["sponsor_missing_since"])
            audit_user_event(
                account.user,
                Action.SERVICE_ACCOUNT_SPONSOR_CHANGED,
                via=via,
                actor=by,
                client_ip=client_ip,
                detail=(
                    f"Sponsor of {account.name}: {person.email} → {manager.email}, their "
                    "manager in the directory (the sponsor was deprovisioned)."
                ),
            )
            continue
        if account.user.sponsor_missing_since is not None:
            continue
        account.user.sponsor_missing_since = now
        account.user.save(update_fields=["sponsor_missing_since"])
        days = person.tenant.service_account_sponsor_grace_days
        audit_user_event(
            account.user,
            Action.SERVICE_ACCOUNT_SPONSOR_MISSING,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail=(
                f"Sponsor {person.email} deprovisioned; the tokens of {account.name} are "
                f"refused after {now + timedelta(days=days):%Y-%m-%d %H:%M} UTC unless a full "
                "admin names a new sponsor."
            ),
        )


def _directory_manager(person):
    """The person's manager as the directory says (settings.DIRECTORY_MANAGER), when that
    manager may sponsor; else None."""
    path = getattr(settings, "DIRECTORY_MANAGER", "")
    manager = import_string(path)(person) if path else None
    if manager is None or sponsor_refusal(manager, person.tenant) is not None:
        return None
    return manager


def service_account_create(
    *, tenant, name, role, sponsor, description="", by=None, via=Via.COMMAND, client_ip=None
):
    """Create a service account: a user of the tenant that can never sign in (no usable
    password), with the role given, sponsored by an active person. ValidationError names what
    is wrong with the name, the role or the sponsor."""
    role = Role(role)
    refusal = sponsor_refusal(sponsor, tenant)
    if refusal:
        raise ValidationError(refusal)
    user = User(
        email=ServiceAccount.email_for(name), tenant=tenant, role=role, is_service_account=True
    )
    user.set_unusable_password()
    account = ServiceAccount(
        user=user, tenant=tenant, name=name, description=description, sponsor=sponsor
    )
    account.full_clean(exclude=["user"])
    if User.objects.with_email(user.email).filter(tenant=tenant).exists():
        raise ValidationError("This tenant already has a service account of this name.")
    with transaction.atomic():
        user.save()
        account.user = user
        account.save()
        audit_user_event(
            user,
            Action.SERVICE_ACCOUNT_CREATED,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail=f"Service account {name} created as {role.label}, sponsored by {sponsor.email}.",
        )
    return account


def service_account_set_sponsor(*, account, sponsor, by=None, via=Via.PAGE, client_ip=None):
    """Name a new sponsor; a flagged account is usable again on every host once this
    returns. ValidationError when the sponsor may not sponsor; False if nothing changed."""
    refusal = sponsor_refusal(sponsor, account.tenant)
    if refusal:
        raise ValidationError(refusal)
    user = account.user
    if account.sponsor_id == sponsor.pk and user.sponsor_missing_since is None:
        return False
    previous = account.sponsor.email
    with transaction.atomic():
        account.sponsor = sponsor
        account.save(update_fields=["sponsor"])
        user.sponsor_missing_since = None
        user.save(update_fields=["sponsor_missing_since"])
        audit_user_event(
            user,
            Action.SERVICE_ACCOUNT_SPONSOR_CHANGED,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail=f"Sponsor of {account.name}: {previous} → {sponsor.email}.",
        )
        invalidation.announce(account.tenant_id)  # cached tokens carry the flag
    return True


def user_set_role(*, user, role, by=None, via=Via.COMMAND, client_ip=None):
    """Change the role; the user's tokens follow at their next call. False if it already was."""
    role = Role(role)
    previous = user.role_enum
    if previous == role:
        return False
    with transaction.atomic():
        user.set_role(role)
        audit_user_event(
            user,
            Action.USER_ROLE_CHANGED,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail=f"{previous.label} → {role.label}.",
        )
        invalidation.announce(user.tenant_id)
    return True


def user_set_email(*, user, email, by=None, via=Via.PAGE, token=None, client_ip=None):
    """Change the e-mail (IntegrityError if the tenant has it already); False if unchanged."""
    previous = user.email
    if email == previous:
        return False
    with transaction.atomic():
        user.email = email
        user.save(update_fields=["email"])
        audit_user_event(
            user,
            Action.USER_UPDATED,
            via=via,
            actor=by,
            token=token,
            client_ip=client_ip,
            detail=f"E-mail changed from {previous}.",
        )
        invalidation.announce(user.tenant_id)  # the API shows a token's owner's e-mail
    return True


def user_delete(*, user):
    """Delete a user that holds nothing (tokens and events protect it)."""
    with transaction.atomic():
        tenant_id = user.tenant_id
        user.delete()
        if tenant_id is not None:
            invalidation.announce(tenant_id)
