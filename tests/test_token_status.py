from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import TokenFactory
from tokens.models import Token, TokenStatus

NOW = timezone.now()


@pytest.mark.parametrize(
    ("last_used", "status"),
    [
        (None, "generated"),
        (NOW, "active"),
        (NOW - timedelta(days=6, hours=23), "active"),
        (NOW - timedelta(days=7), "active"),  # the boundary belongs to "the past 7 days"
        (NOW - timedelta(days=7, seconds=1), "inactive"),
        (NOW - timedelta(days=400), "inactive"),
    ],
)
def test_status_follows_last_use_in_python_and_in_sql(operator, last_used, status):
    token = TokenFactory(owner=operator, last_used_at=last_used)
    assert token.status_at(NOW) == status
    assert list(Token.objects.with_status(status, NOW)) == [token]
    others = [s for s in TokenStatus.values if s != status]
    assert not any(Token.objects.with_status(s, NOW).exists() for s in others)


def test_status_counts_match_the_filters(operator):
    TokenFactory(owner=operator, last_used_at=None)
    TokenFactory(owner=operator, last_used_at=NOW - timedelta(days=1))
    TokenFactory(owner=operator, last_used_at=NOW - timedelta(days=1))
    TokenFactory(owner=operator, last_used_at=NOW - timedelta(days=30))
    TokenFactory(owner=operator, last_used_at=NOW - timedelta(days=1), suspended_at=NOW)
    # Expired wins over suspended: it could not be used resumed either.
    TokenFactory(owner=operator, suspended_at=NOW, expires_at=NOW - timedelta(days=1))
    counts = Token.objects.status_counts(NOW)
    assert counts == {
        "all": 6,
        "active": 2,
        "inactive": 1,
        "generated": 1,
        "suspended": 1,
        "expired": 1,
    }
    for status, count in counts.items():
        if status != "all":
            assert Token.objects.with_status(status, NOW).count() == count
            assert sum(t.status_at(NOW) == status for t in Token.objects.all()) == count


def test_revoking_keeps_the_row_and_happens_once(operator, full_admin):
    token = TokenFactory(owner=operator)
    assert token.revoke(by=full_admin) is True
    assert token.revoke(by=operator) is False
    token.refresh_from_db()
    assert token.revoked_by == full_admin
    assert token.revoked_at is not None
    assert not Token.objects.live().exists()
    assert Token.objects.count() == 1
