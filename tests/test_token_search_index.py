"""SQLite's token search index (tokens.search_index) and the search that reads it.

The results are checked against the plain icontains conditions on both databases; the index
itself (its rows, kept by triggers) on SQLite only, where it exists."""

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import User
from tests.factories import TokenFactory, UserFactory
from tokens import models as token_models
from tokens import search_index
from tokens.models import Token

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the search index is SQLite's (PostgreSQL: pg_trgm)"
)


def plain_search(tokens, q):
    """What Token.search means, written the slow way."""
    q = q.strip()
    return tokens.filter(
        Q(name__icontains=q) | Q(hint__icontains=q) | Q(owner__email__icontains=q)
    ).distinct()


def ids(tokens):
    return sorted(str(pk) for pk in tokens.values_list("pk", flat=True))


def index_rows():
    """What the index holds, per token: (id, name, hint, owner's e-mail)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key.token_id, s.name, s.hint, s.email FROM {search_index.SEARCH_TABLE} s "
            f"JOIN {search_index.KEY_TABLE} key ON key.id = s.rowid"
        )
        return sorted((str(token_id), *rest) for token_id, *rest in cursor.fetchall())


def expected_rows():
    """What it should hold: every token, revoked and of every kind alike."""
    rows = Token.objects.values_list("id", "name", "hint", "owner__email")
    return sorted((pk.hex, *rest) for pk, *rest in rows)


def assert_index_matches_tokens():
    assert index_rows() == expected_rows()
    with connection.cursor() as cursor:  # nothing left over in the key table
        cursor.execute(f"SELECT COUNT(*) FROM {search_index.KEY_TABLE}")
        assert cursor.fetchone()[0] == Token.objects.count()


@pytest.fixture
def varied(tenant, full_admin, operator, other_tenant):
    """Names, hints and e-mails with case, accents, other scripts, LIKE wildcards, quotes and
    FTS query syntax in them; one token in another tenant, one revoked, one of another kind."""
    stranger = UserFactory(tenant=other_tenant, email="Zoë.Grafana@fabrikam.test")
    made = [
        TokenFactory(owner=full_admin, name="Grafana export", hint="atp_aaaa"),
        TokenFactory(owner=operator, name="Café ÉCLAIR", hint="atp_bbbb"),
        TokenFactory(owner=operator, name="Straße nach Köln", hint="atp_cccc"),
        TokenFactory(owner=operator, name="日本語のトークン", hint="atp_dddd"),
        TokenFactory(owner=full_admin, name="100% ready_now", hint="atp_eeee"),
        TokenFactory(owner=full_admin, name='say "hi" AND NEAR(x) name:abc*', hint="atp_ffff"),
        TokenFactory(owner=operator, name="abc", hint="def"),  # "cde" spans two columns
        TokenFactory(owner=stranger, name="grafana of theirs", hint="atp_gggg"),
        TokenFactory(owner=full_admin, name="GRAFANA revoked", hint="atp_hhhh"),
        TokenFactory(owner=operator, name="Grafana agent", hint="atp_iiii", kind="siem"),
    ]
    made[-2].revoke()
    return made


FRAGMENTS = [
    "grafana",
    "GRAFANA",
    "  Grafana Ex ",
    "afana ex",
    "atp_",
    "ATP_BB",
    "atp_b",
    "a_p",  # _ is a character, not a wildcard
    "%",
    "0% r",
    "100%",
    "y_no",
    "café",
    "CAFÉ",  # LIKE folds ASCII only: É is not é
    "éclair",
    "ÉCLAIR",
    "straße",
    "STRASSE",
    "köln",
    "日本語",
    "トークン",
    "本",
    '"hi"',
    'say "',
    "AND NEAR(",
    "name:abc*",
    "abc*",
    "cde",  # the end of one column and the start of the next: no match
    "abcdef",
    "operator@contoso",
    "OPERATOR@",
    "@contoso.test",
    "admin@",
    "zoë",
    "ZOË",
    "fabrikam",
    "contoso",
    "a",
    "gr",
    "at",
    "xyz-nothing",
]


@pytest.mark.parametrize("q", FRAGMENTS)
def test_search_finds_exactly_what_icontains_finds(varied, tenant, q):
    for tokens in (
        Token.objects.all(),
        Token.objects.api().live(),
        Token.objects.filter(tenant=tenant).api().live(),
        Token.objects.filter(revoked_at__isnull=False),
    ):
        assert ids(tokens.search(q)) == ids(plain_search(tokens, q)), (q, tokens.query)


@pytest.mark.parametrize("q", FRAGMENTS)
def test_search_of_a_tenant_matches_owners_among_its_people(varied, tenant, q):
    people = User.objects.filter(tenant=tenant)
    tokens = Token.objects.filter(tenant=tenant)
    found = tokens.search(q, people=people)
    expected = tokens.filter(
        Q(name__icontains=q.strip())
        | Q(hint__icontains=q.strip())
        | Q(owner__in=people.filter(email__icontains=q.strip()))
    )
    assert ids(found) == ids(expected)


def test_search_keeps_later_filters_order_and_related_owner(varied, full_admin, operator):
    TokenFactory(owner=operator, name="a grafana")
    TokenFactory(owner=operator, name="b grafana", last_used_at=timezone.now())  # active
    listed = token_models.api_token_listing(full_admin, "generated", q="grafana", sort="-name")
    with CaptureQueriesContext(connection) as queries:
        rows = [(token.name, token.owner.email) for token in listed]
    assert rows == [
        ("Grafana export", "admin@contoso.test"),
        ("a grafana", "operator@contoso.test"),
    ]
    assert len(queries) == 1  # the owners came with their tokens


@sqlite_only
def test_a_long_enough_search_reads_the_index_and_a_short_one_does_not(varied):
    for q, reads_index in (("grafana", True), ("gra", True), ("gr", False), ("g", False)):
        with CaptureQueriesContext(connection) as queries:
            list(Token.objects.api().live().search(q))
        assert any(" MATCH " in query["sql"] for query in queries) is reads_index, q


@sqlite_only
def test_too_many_candidates_fall_back_to_the_scan_with_the_same_results(varied, monkeypatch):
    monkeypatch.setattr(token_models, "SEARCH_INDEX_MAX_IDS", 2)
    tokens = Token.objects.api().live()
    for q in ("atp_", "grafana", "contoso", "café"):
        assert ids(tokens.search(q)) == ids(plain_search(tokens, q))


def list_queries(user, q):
    with CaptureQueriesContext(connection) as queries:
        listed = token_models.api_token_listing(user, q=q)
        assert listed.count() > 0
        list(listed[:50])
    return len(queries)


@pytest.mark.parametrize("q", ["export", "ex", "admin@contoso"])
def test_query_count_is_the_same_whether_few_or_many_tokens_match(
    tenant, full_admin, monkeypatch, q
):
    monkeypatch.setattr(token_models, "SEARCH_INDEX_MAX_IDS", 5)
    TokenFactory.create_batch(2, owner=full_admin, name="export")
    few = list_queries(full_admin, q)
    TokenFactory.create_batch(20, owner=full_admin, name="export")  # past the index's limit
    assert list_queries(full_admin, q) == few


# The index stays right through every kind of write.


@sqlite_only
def test_the_index_follows_creation_including_bulk_create(tenant, full_admin, operator):
    TokenFactory(owner=full_admin, name="one by one")
    Token.objects.bulk_create(
        [
            TokenFactory.build(owner=operator, name=f"bulk {n}", digest=f"{n:064d}")
            for n in range(30)
        ]
    )
    assert_index_matches_tokens()
    assert ids(Token.objects.search("bulk 2")) == ids(
        Token.objects.filter(name__startswith="bulk 2")
    )


@sqlite_only
def test_the_index_follows_name_hint_and_owner_changes(tenant, full_admin, operator):
    token = TokenFactory(owner=full_admin, name="before", hint="atp_1111")
    token.name = "after"
    token.save()
    Token.objects.filter(pk=token.pk).update(hint="atp_2222")
    Token.objects.filter(pk=token.pk).update(owner=operator)
    assert_index_matches_tokens()
    assert list(Token.objects.search("after")) == [token]
    assert list(Token.objects.search("atp_2222")) == [token]
    assert list(Token.objects.search("operator@contoso")) == [token]
    assert list(Token.objects.search("admin@contoso")) == []
    assert list(Token.objects.search("before")) == []


@sqlite_only
def test_the_index_follows_a_user_email_change(tenant, operator):
    tokens = TokenFactory.create_batch(3, owner=operator)
    operator.email = "renamed@contoso.test"
    operator.save()
    assert sorted(t.pk for t in Token.objects.search("renamed@")) == sorted(t.pk for t in tokens)
    User.objects.filter(pk=operator.pk).update(email="again@contoso.test")  # as SCIM may
    assert_index_matches_tokens()
    assert Token.objects.search("again@").count() == 3
    assert not Token.objects.search("renamed@").exists()


@sqlite_only
def test_the_index_follows_token_and_user_deletion(tenant, full_admin, operator):
    kept = TokenFactory(owner=full_admin, name="kept")
    TokenFactory(owner=operator, name="gone")
    moved = TokenFactory(owner=operator, name="moved")
    Token.objects.filter(name="gone").delete()
    Token.objects.filter(pk=moved.pk).update(owner=full_admin)
    operator.delete()
    assert_index_matches_tokens()
    assert not Token.objects.search("gone").exists()
    assert not Token.objects.search("operator@").exists()
    assert set(Token.objects.search("admin@contoso")) == {kept, moved}


# Table rebuilds (most migrations on SQLite) drop the triggers: each migrate puts them back.


def rebuild_as_a_migration_would(model):
    with connection.schema_editor() as editor:
        editor._remake_table(model)


def missing_triggers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return set(search_index.TRIGGERS) - {name for (name,) in cursor.fetchall()}


@sqlite_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("model", [Token, User])
def test_migrate_puts_back_the_triggers_of_a_rebuilt_table_and_refills(model):
    admin = UserFactory(email="admin@rebuilt.test")
    TokenFactory(owner=admin, name="before the rebuild")
    rebuild_as_a_migration_would(model)
    assert missing_triggers()  # what Django does without a word
    # Writes between the rebuild and the end of migrate reach no trigger.
    TokenFactory(owner=admin, name="during the migration")
    User.objects.filter(pk=admin.pk).update(email="boss@rebuilt.test")
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert missing_triggers() == set()
    assert_index_matches_tokens()
    assert Token.objects.search("during the migration").count() == 1
    assert Token.objects.search("boss@rebuilt").count() == 2
    # and the triggers work again
    TokenFactory(owner=admin, name="after the migration")
    assert Token.objects.search("after the migration").count() == 1


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_migrate_puts_back_a_dropped_trigger():
    admin = UserFactory(email="admin@dropped.test")
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER tokens_search_token_insert")
    TokenFactory(owner=admin, name="unindexed")
    assert not Token.objects.search("unindexed").exists()
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert Token.objects.search("unindexed").count() == 1
    assert_index_matches_tokens()


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_migrate_leaves_a_complete_index_alone():
    TokenFactory(name="indexed")
    assert search_index.ensure_triggers(connection) is False
    assert_index_matches_tokens()


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_the_index_survives_vacuum():
    owner = UserFactory(email="owner@vacuum.test")
    tokens = [TokenFactory(owner=owner, name=f"vacuumed {n}") for n in range(40)]
    Token.objects.filter(pk__in=[t.pk for t in tokens[::2]]).delete()  # gaps to renumber
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
    assert_index_matches_tokens()
    survivors = {t.pk for t in tokens[1::2]}
    assert {t.pk for t in Token.objects.search("vacuumed")} == survivors
    thirties = Token.objects.filter(name__startswith="vacuumed 3")
    assert {t.pk for t in Token.objects.search("vacuumed 3")} == {t.pk for t in thirties}
