"""Who may do what: the one place that answers permission questions (CONTRACT §2, §5, §7-§9).

Pages, the API, Django admin and templates (through the `permissions` template filters) ask
these functions; nothing else reads roles to decide. Tokens are taken duck-typed (`tenant_id`,
`owner_id`, `is_personal`): tokens stand on the floor above this one.

The rules, and why:
- A user may do anything only while it is an active member of a tenant. A deprovisioned
  user may do nothing, and neither may its API tokens: a token's privileges are its owner's
  at each request.
- Full admins administer their tenant: every API token of it, the tenant's own tokens (SIEM
  agents, log collectors, provisioning), the audit log, the token policy, identity and
  integration settings.
- Operators and readers see and revoke their own API tokens only.
- A personal token is rotated by its owner only: a new secret for someone else's token
  would let a full admin act as that user under the token's name.
- Full admins and operators write; readers, and so their tokens, read only. The API refuses
  every write of a reader's token, revocation included, though the reader may revoke its own
  tokens on the page: a read-only token stays read only.
- A token may be narrower than its owner (CONTRACT §12): a read-only token never writes,
  whatever its owner may do, so a write needs both. A reader's tokens are issued read only.
  Its owner and full admins may narrow a token further (revoking only ever takes privileges
  away, and so does narrowing).
- A service account (CONTRACT §15) never signs in: no password, no single sign-on, no
  session, no Django admin. Its API tokens act with its role like a person's, and are refused
  once its sponsor has been missing for longer than the tenant's grace.
- Platform operators (staff without a tenant) use Django admin, where they see and revoke any
  token. They have no tenant pages (tenants.middleware sends them to admin).
"""

from django.db.models import Q
from django.utils import timezone

from web import networks

from .models import Role

WRITING_ROLES = frozenset({Role.FULL_ADMIN, Role.SECURITY_OPERATOR})
ADMINISTERING_ROLES = frozenset({Role.FULL_ADMIN})


def _member(user):
    # Anonymous users are never active, so tenant_id is read from real users only.
    return user.is_active and user.tenant_id is not None


def _administers(user):
    return _member(user) and user.role in ADMINISTERING_ROLES


def may_use_admin(user):
    """Django admin, which sees every tenant: active staff without a tenant. Tenant users
    never, whatever their flags: a tenant may allow single sign-on only."""
    return user.is_active and user.is_staff and user.tenant_id is None


def may_sign_in(user):
    """Password, single sign-on or Django admin: people only, while active."""
    return user.is_active and not user.is_service_account


def may_call_api(user, now=None):
    """Whether the user's API tokens may be used at all (a refusal is 403, not 401)."""
    return _member(user) and not sponsorship_lapsed(user, now)


def sponsorship_lapsed(user, now=None):
    """A service account whose sponsor has been missing past the tenant's grace: its tokens
    are refused until a full admin names a new sponsor. Decided from the user row and its
    tenant, which the token cache holds: no query."""
    ends = user.sponsor_grace_ends_at() if user.is_service_account else None
    return ends is not None and ends <= (now or timezone.now())


def may_manage_service_accounts(user):
    """Create service accounts and name their sponsors."""
    return _administers(user)


def may_write(user):
    """Alter data, on the API with any of the user's tokens, with the role it has now."""
    return _member(user) and user.role in WRITING_ROLES


def may_write_with_token(user, token):
    """A write with one of the user's personal tokens: issued writable, and the user may write
    now (the live-privilege rule)."""
    return not token.is_read_only and may_write(user)


def may_issue_writable_tokens(user):
    """Readers' tokens are read only from the start, so that a promotion does not make them
    writable."""
    return may_write(user)


def may_see_others_tokens(user):
    """Every API token of the tenant, with its owner, not only the user's own."""
    return _administers(user)


def may_revoke_others_tokens(user):
    return _administers(user)


def may_see_revoked_tokens(user):
    """Revoked tokens stay out of every listing but one, full admins' Revoked filter, for
    investigations. A revoked token's own page, read only, is for whoever may see the token
    (may_see_token): its owner too, to find out when, how and by whom it was revoked."""
    return _administers(user)


def may_see_audit_log(user):
    return _administers(user)


def may_set_token_policy(user):
    return _administers(user)


def may_manage_identity(user):
    """Single sign-on, role mapping and provisioning (SCIM) tokens."""
    return _administers(user)


def may_see_api_usage(user):
    """The API usage overview: every API token's calls, so those who may see them all."""
    return _administers(user)


def may_review_new_networks(user):
    """Clear a token's "used from a new network" flag: those who watch every token's use."""
    return _administers(user)


def may_manage_integrations(user):
    """SIEM agents and log collectors, and their tokens."""
    return _administers(user)


def may_see_token(user, token):
    if may_use_admin(user):
        return True
    if not _member(user) or token.tenant_id != user.tenant_id:
        return False
    return _administers(user) or (token.is_personal and token.owner_id == user.pk)


def may_revoke_token(user, token):
    """Whoever may see a token may revoke it: revoking only ever takes privileges away."""
    return may_see_token(user, token)


def may_narrow_token(user, token):
    """Change a token's access and allowed networks: its owner, and full admins of its
    tenant (who may already revoke it)."""
    return _member(user) and may_see_token(user, token)


def may_rotate_token(user, token):
    if not _member(user) or token.tenant_id != user.tenant_id:
        return False
    if token.is_personal:
        return token.owner_id == user.pk
    return _administers(user)


def may_suspend_token(user, token):
    """Suspend a token (CONTRACT §16): full admins of its tenant, and the owner of a personal
    token. Like revoking, it only takes away, but it can be undone."""
    if not _member(user) or token.tenant_id != user.tenant_id:
        return False
    return _administers(user) or (token.is_personal and token.owner_id == user.pk)


def may_resume_token(user, token):
    """Resume a suspended token: full admins; its owner only a suspension of their own, for a
    full admin who suspended a token is asking its owner first."""
    if not may_suspend_token(user, token):
        return False
    return _administers(user) or token.suspended_by_id == user.pk


def may_rotate_with_token(user, caller, token):
    """Rotate token through the API with the caller token (CONTRACT §15): as on the page, and
    another token than the caller only when the caller could already call from everywhere
    that token can: the new secret must not reach further than the one that asked for it.
    (Read only: rotating another token is a write, web.auth.Access.)"""
    if not may_rotate_token(user, token):
        return False
    return caller.pk == token.pk or networks.within(token.networks, caller.networks)


def tokens_visible_to(user, *, personal):
    """may_see_token as a filter on tokens' tenant_id and owner_id, so that tenant scope lives
    inside the listing's query. personal: the filter matching tokens that act as their owner
    (the SQL twin of token.is_personal, which the tokens floor defines)."""
    if may_use_admin(user):
        return Q()
    if not _member(user):
        return Q(pk__in=[])
    tenant = Q(tenant_id=user.tenant_id)
    if _administers(user):
        return tenant
    return tenant & personal & Q(owner_id=user.pk)


def service_accounts_visible_to(user):
    """may_manage_service_accounts as a filter on service accounts: the tenant's for those who
    manage them, none for anyone else (whom the API answers 404 for a named account)."""
    if not may_manage_service_accounts(user):
        return Q(pk__in=[])
    return Q(tenant_id=user.tenant_id)


def is_full_admin(user):
    """Whether the user holds the tenant's administering role: what the error pages say a
    page refused by role needs ("This page is for full admins of …")."""
    return _administers(user)


# E-mail notifications (notifications app).


def may_choose_notifications(user):
    """The account's notification settings page: any member of a tenant, for its own mail."""
    return _member(user)


def receives_hygiene_digest(user):
    """The weekly digest counts every API token of the tenant, so it goes to those who may
    see them all: people (a service account has no mailbox)."""
    return may_see_others_tokens(user) and not user.is_service_account


def receives_sponsor_alerts(user):
    """A service account lost its sponsor: the full admins, who may name a new one, hear of
    it (people only)."""
    return may_manage_service_accounts(user) and not user.is_service_account
