from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from . import crypto
from .models import Token, TokenKind


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token and its plaintext, which exists only here and in the one
    response that reveals it."""

    token: Token
    secret: str = field(repr=False)  # kept out of tracebacks and debug output


def token_issue(*, owner, name, kind=TokenKind.API):
    for _ in range(3):  # a digest collision at 214 bits is theoretical; retry rather than fail
        secret = crypto.generate()
        token = Token(
            tenant_id=owner.tenant_id,
            owner=owner,
            kind=kind,
            name=name,
            digest=crypto.digest(secret),
            hint=crypto.hint(secret),
        )
        try:
            with transaction.atomic():
                token.save(force_insert=True)
        except IntegrityError:
            continue
        return IssuedToken(token=token, secret=secret)
    raise RuntimeError("Could not issue a unique token.")
