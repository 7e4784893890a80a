"""Bench data, made with bulk_create so 100,000 rows take seconds, not minutes.

Filler rows go through the public crypto helpers (digest, hint) so they are shaped like real
ones; the few tokens the bench authenticates with are issued by the real services, since
their plaintext is needed.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS
from rest_framework.authtoken.models import Token as DrfToken

from tenants.models import Role, Tenant, User
from tokens import crypto
from tokens.models import ACTIVE_WINDOW, Token, TokenKind
from tokens.services import token_issue

from .database import large_sqlite_cache

BATCH = 1000
HISTORY = timedelta(days=730)  # tokens generated over the past two years
OWNERS_PER_TENANT = 6  # the full admin plus operators and readers


@dataclass(frozen=True)
class AuthFixtures:
    ours: str  # plaintext of each scheme's token for the bench principal
    drf: str
    knox: str
    fresh_ours: str  # never used yet: the burst test counts its first write


@dataclass(frozen=True)
class HostsFixtures:
    host: str  # the reach tenant's host name, where its admin revokes
    admin: str  # the reach tenant's full admin's API token
    trials: list  # (token id, secret) pairs, one per revocation trial
    rotations: list  # (token id, secret) pairs, one per rotation-overlap trial
    churn_tenant_id: int  # another tenant, whose tokens are revoked under load
    churn_admin_id: int


@dataclass(frozen=True)
class ManyFixtures:
    ours: list  # plaintext of each of our tokens, one per user
    drf: list  # each user's DRF token, in the same order


@dataclass(frozen=True)
class PageTenant:
    size: int
    host: str
    admin_id: int
    token: str  # the full admin's API token


def _filler_secret():
    return secrets.token_hex(20)


def _unusable_users(tenant, count, prefix):
    users = [
        User(
            email=f"{prefix}{number}@{tenant.slug}.bench",
            tenant=tenant,
            role=Role.SECURITY_OPERATOR,
            password=make_password(None),
        )
        for number in range(count)
    ]
    User.objects.bulk_create(users, batch_size=BATCH)
    # Read back for their ids (SQLite's bulk_create does not return them everywhere).
    return list(User.objects.filter(tenant=tenant, email__startswith=prefix).order_by("pk"))


@transaction.atomic
def seed_auth(count):
    """`count` tokens in each scheme's table: ours, DRF authtoken and knox.

    DRF allows one token per user and knox reads all of a user's tokens on every call, so the
    filler tokens belong to `count` different users, one token of each scheme apiece; the
    principal is one more user with one token of each scheme, like a real API client."""
    tenant = Tenant.objects.create(slug="bench", name="Bench")
    principal = User.objects.create_user(
        "principal@bench.bench", None, tenant=tenant, role=Role.FULL_ADMIN
    )
    filler_tenant = Tenant.objects.create(slug="filler", name="Filler")
    owners = _unusable_users(filler_tenant, count - 1, "owner")
    _bulk_tokens(filler_tenant, [(owner, f"Filler {owner.pk}") for owner in owners], "fill")
    DrfToken.objects.bulk_create(
        [DrfToken(key=DrfToken.generate_key(), user=owner) for owner in owners], batch_size=BATCH
    )
    knox_rows = []
    for owner in owners:
        digest, plaintext = get_digest_token()
        knox_rows.append(
            AuthToken(digest=digest, token_key=plaintext[: CONSTANTS.TOKEN_KEY_LENGTH], user=owner)
        )
    AuthToken.objects.bulk_create(knox_rows, batch_size=BATCH)

    ours = token_issue(owner=principal, name="Bench client").secret
    fresh = token_issue(owner=principal, name="Bench burst").secret
    drf = DrfToken.objects.create(user=principal).key
    _, knox = AuthToken.objects.create(principal, expiry=None)
    return AuthFixtures(ours=ours, drf=drf, knox=knox, fresh_ours=fresh)


@transaction.atomic
def seed_many(count):
    """`count` users in one tenant, each with one of our tokens and one DRF token whose
    plaintexts the bench keeps. Our tokens were last used just now, so calling them records
    no use while the resolution lasts: what is timed is authentication alone, as with DRF."""
    tenant = Tenant.objects.create(slug="many", name="Many tokens")
    owners = _unusable_users(tenant, count, "client")
    plaintexts = [crypto.generate() for _ in owners]
    now = timezone.now()
    with large_sqlite_cache():
        Token.objects.bulk_create(
            [
                Token(
                    tenant_id=tenant.pk,
                    owner_id=owner.pk,
                    name=f"Client {owner.pk}",
                    digest=crypto.digest(secret),
                    hint=crypto.hint(secret),
                    issued_role=owner.role,  # as issued: no role-drift audit on first call
                    last_used_at=now,
                )
                for owner, secret in zip(owners, plaintexts, strict=True)
            ],
            batch_size=BATCH,
        )
        drf = [DrfToken(key=DrfToken.generate_key(), user=owner) for owner in owners]
        DrfToken.objects.bulk_create(drf, batch_size=BATCH)
    return ManyFixtures(ours=plaintexts, drf=[row.key for row in drf])


def _spread(rng, now):
    """created_at, last_used_at, revoked_at with a realistic mix: about a third never used,
    a third used this week, a third used before; one in ten revoked."""
    created = now - HISTORY * rng.random()
    roll = rng.random()
    if roll < 0.3:
        last_used = None
    elif roll < 0.65:
        since = max(created, now - ACTIVE_WINDOW)
        last_used = since + (now - since) * rng.random()
    else:
        until = max(created, now - ACTIVE_WINDOW - timedelta(hours=1))
        last_used = created + (until - created) * rng.random()
    revoked = None
    if rng.random() < 0.1:
        revoked = (last_used or created) + timedelta(hours=rng.randint(1, 48))
    return created, last_used, revoked


@transaction.atomic
def seed_page_tenant(size, seed=8):
    """A tenant with `size` tokens (5% of another kind, which the page must leave out) spread
    over several owners, and its full admin's own API token."""
    rng = random.Random(seed + size)
    now = timezone.now()
    tenant = Tenant.objects.create(slug=f"scale{size}", name=f"Scale {size:,}")
    admin = User.objects.create_user(
        f"admin@{tenant.slug}.bench", None, tenant=tenant, role=Role.FULL_ADMIN
    )
    others = _unusable_users(tenant, OWNERS_PER_TENANT - 1, "member")
    for index, user in enumerate(others):
        user.role = Role.SECURITY_READER if index % 2 else Role.SECURITY_OPERATOR
    User.objects.bulk_update(others, ["role"])
    owner_ids = [admin.pk, *(user.pk for user in others)]
    rows = []
    for number in range(size - 1):  # the admin's own token below makes `size`
        created, last_used, revoked = _spread(rng, now)
        owner_id = owner_ids[number % len(owner_ids)]
        rows.append(
            # Ids rather than instances: 100,000 related-object assignments cost seconds.
            Token(
                tenant_id=tenant.pk,
                owner_id=owner_id,
                kind=TokenKind.SIEM if rng.random() < 0.05 else TokenKind.API,
                name=f"Integration {number}",
                digest=crypto.digest(_filler_secret()),
                hint=crypto.PREFIX + f"{number % 10000:04d}",
                created_at=created,
                last_used_at=last_used,
                revoked_at=revoked,
                revoked_by_id=owner_id if revoked else None,
            )
        )
    with large_sqlite_cache():
        Token.objects.bulk_create(rows, batch_size=BATCH)
    secret = token_issue(owner=admin, name="Scale admin client").secret
    return PageTenant(size=size, host=tenant.host, admin_id=admin.pk, token=secret)


@transaction.atomic
def seed_hosts(trials, churn_tokens):
    """For the several-hosts part: a tenant whose admin revokes one issued token per trial
    (and has as many more that rotate themselves, issue 28), and another tenant with
    `churn_tokens` live tokens to revoke while timing."""
    tenant = Tenant.objects.create(slug="reach", name="Reach")
    admin = User.objects.create_user("admin@reach.bench", None, tenant=tenant, role=Role.FULL_ADMIN)
    issued = [token_issue(owner=admin, name=f"Trial {n}") for n in range(trials)]
    rotated = [token_issue(owner=admin, name=f"Rotation {n}") for n in range(trials)]
    churn = Tenant.objects.create(slug="churn", name="Churn")
    churn_admin = User.objects.create_user(
        "admin@churn.bench", None, tenant=churn, role=Role.FULL_ADMIN
    )
    _bulk_tokens(churn, [(churn_admin, f"Churn {n}") for n in range(churn_tokens)], "chrn")
    return HostsFixtures(
        host=tenant.host,
        admin=token_issue(owner=admin, name="Reach admin client").secret,
        trials=[(str(one.token.pk), one.secret) for one in issued],
        rotations=[(str(one.token.pk), one.secret) for one in rotated],
        churn_tenant_id=churn.pk,
        churn_admin_id=churn_admin.pk,
    )


def _bulk_tokens(tenant, owners_and_names, hint):
    """Live API tokens whose secrets nobody keeps, written in batches."""
    Token.objects.bulk_create(
        [
            Token(
                tenant=tenant,
                owner=owner,
                name=name,
                digest=crypto.digest(_filler_secret()),
                hint=crypto.PREFIX + hint,
            )
            for owner, name in owners_and_names
        ],
        batch_size=BATCH,
    )
