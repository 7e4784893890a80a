# ruff: noqa: S608 - the SQL here names only this module's tables and the models' own.
"""The token search index of SQLite: which tokens' name, hint or owner's e-mail contain a text.

SQLite has no trigram index for Token.search's `LIKE '%q%'`, so a fragment that few tokens
contain would otherwise be looked for in every token of the tenant. An FTS5 table with the
`trigram` tokenizer finds them by substring instead; TokenQuerySet.search then reads only those
tokens, still checking its own conditions on them (the index only narrows, it never decides).
PostgreSQL has its pg_trgm indexes (tokens 0009) and none of this.

Three tables, all kept by SQL triggers so that every write keeps them right, bulk_create and
raw SQL included:
- SEARCH_TABLE, the FTS5 table: per token its name, hint and owner's e-mail, as separate
  columns so that no match runs from one into the next.
- KEY_TABLE: the FTS rowid of each token. Token ids are UUIDs, and the token table's implicit
  rowid may be renumbered by VACUUM (or by Django rebuilding the table), so it cannot be the
  FTS rowid; an INTEGER PRIMARY KEY is the rowid itself, which nothing renumbers. It also holds
  the owner, so that an e-mail change finds the owner's FTS rows without reading tokens.
- OWNER_TABLE: each user's e-mail, for the row of a new token.
A trigger reads only its own table and these three: SQLite refuses to rename a table while a
trigger elsewhere names a table that is missing, and Django's table rebuild on SQLite (drop,
then rename the copy) goes through that moment. The rebuild drops the rebuilt table's triggers
without a word, so ensure_triggers() (on every post_migrate, tokens.apps) makes the index
anew (tables, contents, triggers) when one is missing: writes may have happened meanwhile.
"""

from django.db import transaction

from tenants.models import User

from .models import Token

SEARCH_TABLE = "tokens_search"
KEY_TABLE = "tokens_search_key"
OWNER_TABLE = "tokens_search_owner"
# The trigram tokenizer indexes three characters at a time: shorter text finds nothing in it.
SHORTEST_INDEXED_SEARCH = 3

TOKENS, USERS = Token._meta.db_table, User._meta.db_table
OWNER_EMAIL = f"COALESCE((SELECT email FROM {OWNER_TABLE} WHERE user_id = new.owner_id), '')"
TOKEN_ROWID = f"(SELECT id FROM {KEY_TABLE} WHERE token_id = %s.id)"

TABLES = [
    f"CREATE TABLE IF NOT EXISTS {KEY_TABLE} ("
    "id INTEGER PRIMARY KEY, token_id TEXT NOT NULL UNIQUE, owner_id INTEGER NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {KEY_TABLE}_owner_idx ON {KEY_TABLE} (owner_id)",
    f"CREATE TABLE IF NOT EXISTS {OWNER_TABLE} (user_id INTEGER PRIMARY KEY, email TEXT NOT NULL)",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} "
    "USING fts5(name, hint, email, tokenize='trigram')",
]

TRIGGERS = {
    # A key left over for the same id (written while the triggers were missing, before the
    # next post_migrate) must not make the token's own insert fail: it is replaced.
    "tokens_search_token_insert": f"""
        AFTER INSERT ON {TOKENS} BEGIN
            DELETE FROM {SEARCH_TABLE} WHERE rowid = {TOKEN_ROWID % "new"};
            INSERT OR REPLACE INTO {KEY_TABLE} (token_id, owner_id) VALUES (new.id, new.owner_id);
            INSERT INTO {SEARCH_TABLE} (rowid, name, hint, email)
                VALUES ({TOKEN_ROWID % "new"}, new.name, new.hint, {OWNER_EMAIL});
        END""",
    # Django's save() sets every column: only a change of these touches the index.
    "tokens_search_token_update": f"""
        AFTER UPDATE OF name, hint, owner_id ON {TOKENS}
        WHEN old.name IS NOT new.name OR old.hint IS NOT new.hint
            OR old.owner_id IS NOT new.owner_id
        BEGIN
            UPDATE {KEY_TABLE} SET owner_id = new.owner_id WHERE token_id = new.id;
            UPDATE {SEARCH_TABLE} SET name = new.name, hint = new.hint, email = {OWNER_EMAIL}
                WHERE rowid = {TOKEN_ROWID % "new"};
        END""",
    "tokens_search_token_delete": f"""
        AFTER DELETE ON {TOKENS} BEGIN
            DELETE FROM {SEARCH_TABLE} WHERE rowid = {TOKEN_ROWID % "old"};
            DELETE FROM {KEY_TABLE} WHERE token_id = old.id;
        END""",
    "tokens_search_user_insert": f"""
        AFTER INSERT ON {USERS} BEGIN
            INSERT OR REPLACE INTO {OWNER_TABLE} (user_id, email) VALUES (new.id, new.email);
        END""",
    "tokens_search_user_update": f"""
        AFTER UPDATE OF email ON {USERS} WHEN old.email IS NOT new.email BEGIN
            INSERT OR REPLACE INTO {OWNER_TABLE} (user_id, email) VALUES (new.id, new.email);
            UPDATE {SEARCH_TABLE} SET email = new.email
                WHERE rowid IN (SELECT id FROM {KEY_TABLE} WHERE owner_id = new.id);
        END""",
    # Tokens protect their owner, so none should be left; if one is (foreign keys off), its
    # owner's e-mail finds it no more.
    "tokens_search_user_delete": f"""
        AFTER DELETE ON {USERS} BEGIN
            DELETE FROM {OWNER_TABLE} WHERE user_id = old.id;
            UPDATE {SEARCH_TABLE} SET email = ''
                WHERE rowid IN (SELECT id FROM {KEY_TABLE} WHERE owner_id = old.id);
        END""",
}

# Emptying an FTS5 table row by row costs as much as filling it: a refill starts from new
# tables. Both fills read the tokens in their table's order, so the keys are numbered in that
# order and the FTS rows arrive by ascending rowid, which FTS5 writes four times faster than
# in key order (2 s instead of 8 s for 110,000 tokens).
FILL = [
    f"INSERT INTO {OWNER_TABLE} (user_id, email) SELECT id, email FROM {USERS}",
    f"INSERT INTO {KEY_TABLE} (token_id, owner_id) SELECT id, owner_id FROM {TOKENS}",
    f"""INSERT INTO {SEARCH_TABLE} (rowid, name, hint, email)
        SELECT key.id, token.name, token.hint, COALESCE(owner.email, '')
        FROM {TOKENS} token CROSS JOIN {KEY_TABLE} key ON key.token_id = token.id
        LEFT JOIN {OWNER_TABLE} owner ON owner.user_id = token.owner_id""",
]


def used_on(connection):
    return connection.vendor == "sqlite"


def _existing(cursor, kind, names):
    placeholders = ", ".join(["%s"] * len(names))
    cursor.execute(
        f"SELECT name FROM sqlite_master WHERE type = %s AND name IN ({placeholders})",
        [kind, *names],
    )
    return {name for (name,) in cursor.fetchall()}


def create(connection):
    """The tables and triggers, filled from the tokens and users already there."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _rebuild(cursor)


def drop(connection):
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _drop(cursor)


def ensure_triggers(connection):
    """Put back the triggers a table rebuild dropped, and rebuild the index if any was
    missing. Returns whether it had to. Nothing while the index does not exist (migrated back
    before the migration that makes it)."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        tables = {SEARCH_TABLE, KEY_TABLE, OWNER_TABLE}
        if _existing(cursor, "table", list(tables)) != tables:
            return False
        if _existing(cursor, "trigger", list(TRIGGERS)) == set(TRIGGERS):
            return False
        _rebuild(cursor)
        return True


def _drop(cursor):
    for name in TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in (SEARCH_TABLE, KEY_TABLE, OWNER_TABLE):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _rebuild(cursor):
    _drop(cursor)
    for statement in TABLES:
        cursor.execute(statement)
    for statement in FILL:
        cursor.execute(statement)
    for name, definition in TRIGGERS.items():
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {definition}")


def matching_token_ids(connection, q, limit):
    """Ids of up to `limit` tokens, of any tenant, whose name, hint or owner's e-mail may
    contain q: every token that does, ignoring case, and possibly others (the index folds the
    case of every letter, where LIKE folds only ASCII's), so the caller checks its own
    conditions on them. q is one phrase, as written (no FTS query syntax), of at least
    SHORTEST_INDEXED_SEARCH characters."""
    phrase = '"' + q.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        # The FTS table drives the join: its matches are the few rows to read.
        cursor.execute(
            f"SELECT key.token_id FROM {SEARCH_TABLE} CROSS JOIN {KEY_TABLE} key "
            f"ON key.id = {SEARCH_TABLE}.rowid WHERE {SEARCH_TABLE} MATCH %s LIMIT %s",
            [phrase, limit],
        )
        # As stored (hex): a list past the limit is only counted, so none is converted here.
        return [token_id for (token_id,) in cursor.fetchall()]


def usable(connection, q):
    return used_on(connection) and len(q) >= SHORTEST_INDEXED_SEARCH
