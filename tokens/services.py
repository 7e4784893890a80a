"""Writes about tokens: each changes the token, appends its audit event and, in the same
transaction, makes what every process caches about the tenant stale (web.invalidation)."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import Action, Via
from audit.services import audit_token_event
from tenants.permissions import may_issue_writable_tokens
from web import invalidation, networks

from . import crypto
from .models import Token, TokenAccess, TokenKind
from .usage import resolution


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token and its plaintext, which exists only here and in the one
    response that reveals it."""

    token: Token
    secret: str = field(repr=False)  # kept out of tracebacks and debug output
    note: str = ""  # what the tenant's policy changed, shown with the value


def _new_secret():
    secret = crypto.generate()
    return secret, crypto.digest(secret), crypto.hint(secret)


def token_issue(
    *,
    owner,
    name,
    kind=TokenKind.API,
    expires_at=None,
    access=TokenAccess.READ_WRITE,
    allowed_networks=(),
    by=None,
    via=Via.PAGE,
    client_ip=None,
):
    """A new token. A personal token of an owner who may not write is read only whatever was
    asked: it stays read only should its owner be promoted. allowed_networks: normalised
    ranges (web.networks.normalised); none, anywhere. by: who generated it when that is not
    its owner (a full admin, for a service account, which never signs in); the audit's actor."""
    if kind == TokenKind.API and not may_issue_writable_tokens(owner):
        access = TokenAccess.READ_ONLY
    for _ in range(3):  # a digest collision at 214 bits is theoretical; retry rather than fail
        secret, digest, hint = _new_secret()
        token = Token(
            tenant=owner.tenant,
            owner=owner,
            kind=kind,
            name=name,
            digest=digest,
            hint=hint,
            expires_at=expires_at,
            access=access,
            networks=networks.stored(allowed_networks),
            issued_role=owner.role,
        )
        try:
            with transaction.atomic():
                token.save(force_insert=True)
                audit_token_event(
                    token,
                    Action.TOKEN_GENERATED,
                    via=via,
                    actor=by or owner,
                    client_ip=client_ip,
                    detail=_issue_detail(token),
                )
                # A new token is counted; no cached token changes.
                invalidation.announce(owner.tenant_id, invalidation.COUNTS)
        except IntegrityError:
            continue
        return IssuedToken(token=token, secret=secret)
    raise RuntimeError("Could not issue a unique token.")


def _issue_detail(token):
    detail = _expiry_detail(token.expires_at)
    if token.is_read_only:
        detail += " Read only."
    if token.networks:
        detail += f" Allowed from {_networks_text(token.networks)}."
    return detail


def _networks_text(stored):
    return ", ".join(networks.listed(stored)) or "anywhere"


def token_make_read_only(*, token, by, via=Via.PAGE, client_ip=None):
    """Narrow a token to read only, for good; audited, and at once on every process. False
    when it already was."""
    with transaction.atomic():
        updated = Token.objects.filter(pk=token.pk).exclude(access=TokenAccess.READ_ONLY)
        if not updated.update(access=TokenAccess.READ_ONLY):
            return False
        token.access = TokenAccess.READ_ONLY
        audit_token_event(
            token,
            Action.TOKEN_ACCESS_CHANGED,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail="Made read only.",
        )
        invalidation.announce(token.tenant_id)
    return True


class TokenChanged(Exception):
    """The token changed between reading it and writing it: the write was not made."""


def token_set_networks(*, token, allowed_networks, by, via=Via.PAGE, client_ip=None):
    """Set the networks a token may be used from (normalised ranges; none, anywhere); audited,
    and at once on every process. False when nothing changed.

    Only over the networks token was read with, else TokenChanged: a decision made on that
    list (the API's "narrower than it is") must not overwrite a change made meanwhile, a full
    admin's narrowing say (review 3, finding 7)."""
    stored, previous = networks.stored(allowed_networks), token.networks
    if stored == previous:
        return False
    with transaction.atomic():
        if not Token.objects.filter(pk=token.pk, networks=previous).update(networks=stored):
            raise TokenChanged
        token.networks = stored
        audit_token_event(
            token,
            Action.TOKEN_NETWORKS_CHANGED,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail=f"Allowed from {_networks_text(stored)} (was {_networks_text(previous)}).",
        )
        invalidation.announce(token.tenant_id)
    return True


def _expiry_detail(expires_at):
    return f"Expires {expires_at:%Y-%m-%d %H:%M} UTC." if expires_at else "No expiry."


def _audited(token, change, action, *, by, via, client_ip, detail):
    """change() (a model method: True when it changed the row) with its audit event and the
    invalidation, in one transaction; what change() returned."""
    with transaction.atomic():
        changed = change()
        if changed:
            audit_token_event(token, action, via=via, actor=by, client_ip=client_ip, detail=detail)
            invalidation.announce(token.tenant_id)
    return changed


def token_revoke(*, token, by=None, via=Via.PAGE, client_ip=None, detail=""):
    """Revoke once and audit it; False when it was already revoked."""
    return _audited(
        token,
        lambda: token.revoke(by=by),
        Action.TOKEN_REVOKED,
        by=by,
        via=via,
        client_ip=client_ip,
        detail=detail,
    )


SWEEP_DETAIL = "Revoked by the sweep: {reason}."


def sweep_reason(detail):
    """Why the daily sweep revoked a token ("unused for 90 days", "expired"), from its audit
    event's detail (SWEEP_DETAIL); "" for any other detail."""
    prefix, _, _ = SWEEP_DETAIL.partition("{reason}")
    if not detail.startswith(prefix) or not detail.endswith("."):
        return ""
    return detail[len(prefix) : -1]


def token_suspend(*, token, by, via=Via.PAGE, client_ip=None):
    """Suspend once and audit it: every call with it is refused, on every host, once this
    returns. False when it was already suspended (or is revoked)."""
    return _audited(
        token,
        lambda: token.suspend(by=by),
        Action.TOKEN_SUSPENDED,
        by=by,
        via=via,
        client_ip=client_ip,
        detail="Every call with it is refused until it is resumed.",
    )


def token_resume(*, token, by, via=Via.PAGE, client_ip=None):
    """Resume a suspended token, otherwise unchanged, and audit it; False when it was not
    suspended."""
    return _audited(
        token,
        token.resume,
        Action.TOKEN_RESUMED,
        by=by,
        via=via,
        client_ip=client_ip,
        detail="Calls with it work again.",
    )


def token_rotate(*, token, by, overlap=timedelta(0), via=Via.PAGE, client_ip=None):
    """A new secret for the same token (name, owner, history); None if it was revoked.

    The old secret keeps working for overlap (0: it stops at once; the page, API and command
    offer DEFAULT_OVERLAP, and refuse more than the tenant's longest, models.longest_overlap)
    or until the new secret's first successful call, whichever comes first
    (token_record_successor_use), so that a consumer that has not picked the new secret up
    yet, or never got the answer, is no outage. While the old
    secret still works and the new one was never used, rotating again replaces that unused
    new secret instead: the old secret is kept, never for longer than it already was, and the
    unused one stops.

    Its expiry follows the tenant's policy of today (Token.expiry_after_rotation); the
    returned note, also in the audit event, says what the policy changed.
    """
    now = timezone.now()
    secret, digest, hint = _new_secret()
    with transaction.atomic():
        # Locked, so that two rotations (or a rotation and the new secret's first call) are
        # decided one after the other, on the row as the other left it.
        current = (
            Token.objects.select_for_update().filter(pk=token.pk, revoked_at__isnull=True).first()
        )
        if current is None:
            return None
        token.expires_at, token.rotated_at = current.expires_at, current.rotated_at
        expires_at, note = token.expiry_after_rotation(now)
        changes = {
            "digest": digest,
            "successor_digest": digest,
            "hint": hint,
            "rotated_at": now,
            "expires_at": expires_at,
        }
        replacing = current.previous_secret_valid_at(now)
        if replacing:
            until = min(current.previous_valid_until, now + overlap)
            changes["previous_valid_until"] = until
        else:
            until = now + overlap
            changes.update(
                previous_digest=current.digest,
                previous_valid_until=until,
                successor_used_at=None,
                previous_reused_at=None,
                previous_reused_ip=None,
            )
        Token.objects.filter(pk=token.pk).update(**changes)
        token.refresh_from_db()
        audit_token_event(
            token,
            Action.TOKEN_ROTATED,
            via=via,
            actor=by,
            client_ip=client_ip,
            detail=" ".join(
                part
                for part in (
                    _expiry_detail(expires_at),
                    note,
                    _overlap_detail(until, now, replacing),
                )
                if part
            ),
        )
        invalidation.announce(token.tenant_id)  # the old secret may sit in caches: drop it
    return IssuedToken(token=token, secret=secret, note=note)


def _overlap_detail(until, now, replacing):
    if replacing:
        return (
            "Replaced the unused new value of the previous rotation; the old value works until "
            f"{until:%Y-%m-%d %H:%M} UTC or the new value's first use."
        )
    if until <= now:
        return "The old value stopped at once."
    return f"The old value works until {until:%Y-%m-%d %H:%M} UTC or the new value's first use."


def token_record_successor_use(token):
    """The first accepted call with a rotated token's new secret: the old secret stops, and
    every host has heard so before this call returns (the same write, announce and settle as
    a revocation). Once per rotation: the reloaded token no longer awaits it."""
    now = timezone.now()
    with transaction.atomic():
        Token.objects.filter(
            pk=token.pk, previous_digest=token.previous_digest, successor_used_at__isnull=True
        ).update(successor_used_at=now)
        # Announced even when a concurrent first call made the write: neither call may return
        # before every host has heard that the old secret stopped.
        invalidation.announce(token.tenant_id)
    token.successor_used_at = now


def _kept_once_per_address(token, now, client_ip, prefix, **still):
    """Write <prefix>_at and <prefix>_ip on the token unless the same address was kept
    within the last resolution (checked on the row, so two workers write it once): whether
    it was written. still: what the row must still be for the write to apply."""
    at, ip = f"{prefix}_at", f"{prefix}_ip"
    last = getattr(token, at)
    if last is not None and last > now - resolution() and getattr(token, ip) == client_ip:
        return False
    updated = (
        Token.objects.filter(pk=token.pk, **still)
        .filter(
            Q(**{f"{at}__isnull": True})
            | Q(**{f"{at}__lte": now - resolution()})
            | ~Q(**{ip: client_ip})
        )
        .update(**{at: now, ip: client_ip})
    )
    setattr(token, at, now)
    setattr(token, ip, client_ip)
    return bool(updated)


def token_record_previous_reuse(token, client_ip, now):
    """Flag and audit the secret a rotation replaced, used after its successor: at most once
    per resolution per token and address, as for a call from outside the token's networks,
    so a script hammering with it does not hammer the database. The successor is left
    alone: revoking it would break the consumer that moved to it; a full admin decides."""
    kept = _kept_once_per_address(
        token, now, client_ip, "previous_reused", previous_digest=token.previous_digest
    )
    if kept:
        audit_token_event(
            token,
            Action.TOKEN_PREVIOUS_SECRET_REUSED,
            via=Via.API,
            client_ip=client_ip,
            detail=f"Call refused from {client_ip or 'an unknown address'}: it sent the value "
            "this token's last rotation replaced, after the new value was in use. The new "
            "value still works.",
        )


def tokens_revoke_of_deprovisioned_owners(*, tenant, by, client_ip=None):
    """Revoke every live API token of the tenant whose owner is deprovisioned."""
    tokens = Token.objects.api().live().filter(tenant=tenant).with_deprovisioned_owner()
    revoked = 0
    for token in tokens.select_related("owner", "tenant"):
        revoked += token_revoke(
            token=token,
            by=by,
            client_ip=client_ip,
            detail="Revoked with every token of deprovisioned owners.",
        )
    return revoked


def token_record_denial(token, client_ip, now):
    """Keep the last refused call of a deprovisioned owner's token, at most once per
    resolution per token, so a script hammering with it does not hammer the database."""
    if token.last_denied_at is not None and token.last_denied_at > now - resolution():
        return
    updated = (
        Token.objects.filter(pk=token.pk)
        .filter(Q(last_denied_at__isnull=True) | Q(last_denied_at__lte=now - resolution()))
        .update(last_denied_at=now, last_denied_ip=client_ip)
    )
    token.last_denied_at, token.last_denied_ip = now, client_ip
    if updated:
        audit_token_event(
            token,
            Action.TOKEN_DENIED_DEPROVISIONED,
            via=Via.API,
            client_ip=client_ip,
            detail="Call refused: the owner is deprovisioned.",
        )


def token_record_network_refusal(token, client_ip, now):
    """Keep and audit a call refused from outside the token's networks, at most once per
    resolution per token and address, as for a deprovisioned owner's token (the refused call
    is the token's last refused call on its page)."""
    if _kept_once_per_address(token, now, client_ip, "last_denied"):
        whose = "token's" if not networks.allows(token.networks, client_ip) else "tenant's"
        audit_token_event(
            token,
            Action.TOKEN_DENIED_NETWORK,
            via=Via.API,
            client_ip=client_ip,
            detail=f"Call refused from {client_ip or 'an unknown address'}: not in the "
            f"{whose} allowed networks.",
        )


def token_audit_role_drift(token, client_ip):
    """Audit the first use of a token after each change of its owner's role."""
    role = token.owner.role
    updated = (Token.objects.filter(pk=token.pk).exclude(drift_audited_role=role)).update(
        drift_audited_role=role
    )
    token.drift_audited_role = role
    if updated:
        audit_token_event(
            token,
            Action.TOKEN_USED_AFTER_ROLE_CHANGE,
            via=Via.API,
            client_ip=client_ip,
            detail=f"Issued as {token.get_issued_role_display()}, "
            f"used as {token.owner.get_role_display()}.",
        )
