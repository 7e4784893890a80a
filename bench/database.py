"""The state of the bench database around seeding: statistics after, a larger cache during.

Apart from bench.seed, which imports DRF's and knox's models: the feed part (and its test,
which runs under the portal's own settings) needs these without them."""

from contextlib import contextmanager

from django.db import connection


def settle():
    """Bring PostgreSQL to the state autovacuum keeps a live database in: planner statistics
    and the visibility map up to date. Without it the plans (and the timings) depend on
    whether autovacuum happened to visit the fresh rows yet. SQLite is left as Django leaves
    it in production: without ANALYZE statistics."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


@contextmanager
def large_sqlite_cache():
    """Random digests and UUIDs land all over SQLite's B-trees; with its default 2 MB page
    cache a 100,000-row insert spends most of its time re-reading pages. Seeding only."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")
