"""The hostile values of the bad-input matrix (tests/test_bad_input.py) and how to send them."""

from urllib.parse import quote

from audit.models import AuditEvent
from tenants.models import Tenant, User
from tokens.models import Token


class Raw(str):
    """A value already percent-encoded, sent as it is: how bytes that are not UTF-8 reach
    a query string or a form body."""


EMPTY = ""
HUGE = "x" * 1_000_000
NON_UTF8 = Raw("%FF%FE")
CONTROL = "bell\x07 escape\x1b[2J"
NUL = "nul\x00byte"
SQL = "' OR 1=1 --"
TEMPLATE = "{{ 7*7 }}{% debug %}"

# One of each kind, named for test ids.
STRINGS = {
    "empty": EMPTY,
    "huge": HUGE,
    "non-utf8": NON_UTF8,
    "control": CONTROL,
    "nul": NUL,
    "sql": SQL,
    "template": TEMPLATE,
}
# Addresses Django's EmailValidator accepts but no mail can be sent to as written (security
# review 3, finding 3): a domain Python's IDNA codec refuses (Latin and Hebrew in one label),
# and domains it maps onto another (a full-width letter, a zero-width joiner, ß to ss).
UNMAILABLE_EMAILS = {
    "idna-refused": "x@a\u05d0.com",
    "full-width": "x@\uff41.com",
    "zero-width-joiner": "x@a\u200d.com",
    "sharp-s": "x@stra\u00dfe.de",
}
# Page numbers a client may invent.
NUMBERS = {"minus-one": "-1", "zero": "0", "2**63": str(2**63), "10**40": str(10**40)}

FORM = "application/x-www-form-urlencoded"


def encode(data):
    """A query string or form body; Raw values go out untouched."""
    return "&".join(
        f"{quote(key)}={value if isinstance(value, Raw) else quote(str(value), safe='')}"
        for key, value in data.items()
    )


def row_counts():
    """What a refused input must leave as it was."""
    return {
        "tenants": Tenant.objects.count(),
        "users": User.objects.count(),
        "tokens": Token.objects.count(),
        "revoked": Token.objects.filter(revoked_at__isnull=False).count(),
        "events": AuditEvent.objects.count(),
    }
