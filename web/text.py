"""What the databases can store as text."""


def is_text(value):
    """Neither NUL (PostgreSQL text and jsonb cannot hold it) nor lone surrogates (what
    Python makes of bytes that were not UTF-8, which no database driver encodes)."""
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)
