"""Real servers and throw-away databases that the tests and the benchmark both run on: a
gunicorn, two hosts on one PostgreSQL, Redis, rsyslog, the settings they serve with.

Below both `tests` and `bench`, it imports neither, nor pytest (tests/test_layers.py), so
`make bench` runs with only the bench extra installed. A Debian program that is not installed
raises Missing; the suite's conftest turns that into a skip that names it.
"""


class Missing(RuntimeError):
    """A program a helper drives is not installed on this machine."""
