"""A test-only app whose migrations touch a table the test locks, installed only by its own
settings (tests/upgrade/test_migration_timeouts.py)."""
