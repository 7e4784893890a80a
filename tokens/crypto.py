"""Token secrets: generation, checksum and digest (CONTRACT §6).

Format: ``atp_`` + 36 random base62 characters + 6 base62 characters of CRC32 checksum
(46 characters in all). 36 base62 characters carry 214 bits from ``secrets``. The checksum
lets a mistyped or truncated value be refused without a database query, and lets secret
scanners tell a real token from random text: ``atp_[0-9A-Za-z]{42}`` then a CRC32 check.
"""

import hashlib
import secrets
import zlib

PREFIX = "atp_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 36
CHECKSUM_LENGTH = 6
TOKEN_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
HINT_LENGTH = 4  # random characters kept for display; 32 more stay secret (> 190 bits)
_ALPHABET_SET = frozenset(ALPHABET)


def _base62(number, width):
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def checksum(body):
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate():
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{PREFIX}{body}{checksum(body)}"


def is_well_formed(value):
    """True when value has the token shape and its checksum matches. Never raises."""
    if not isinstance(value, str) or len(value) != TOKEN_LENGTH or not value.startswith(PREFIX):
        return False
    rest = value[len(PREFIX) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    body, check = rest[:RANDOM_LENGTH], rest[RANDOM_LENGTH:]
    return secrets.compare_digest(checksum(body), check)


def digest(value):
    # A plain SHA-256 suffices: the secret has > 160 bits, so no dictionary or brute force
    # reaches it, and an unkeyed digest survives SECRET_KEY rotation.
    return hashlib.sha256(value.encode("ascii")).hexdigest()


def hint(value):
    """The non-secret characters shown on pages to tell tokens apart."""
    return value[: len(PREFIX) + HINT_LENGTH]
