"""The client's address, and a request's JSON body."""

import json
from ipaddress import ip_address

from django.conf import settings


def client_ip(request):
    """The client's address: the socket peer, or, behind TRUSTED_PROXIES reverse proxies,
    the address the outermost trusted proxy saw (from X-Forwarded-For). Never with an IPv6
    zone ("fe80::1%eth0"): it names an interface of the server or proxy, not the client, and
    PostgreSQL's inet column refuses it."""
    hops = settings.TRUSTED_PROXIES
    address = request.META.get("REMOTE_ADDR", "")
    if not hops and "%" not in address:
        # The WSGI server's socket peer: already a valid address, and this runs on every
        # API call, so it is not parsed again.
        return address or None
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        return str(ip_address(address.split("%", 1)[0]))
    except ValueError:
        return None


class BadJson(ValueError):
    """A request body that is not JSON; str() is a sentence to send back to the client."""


def json_body(request):
    """The request's JSON body, parsed. Anything else raises BadJson, never another error:
    not UTF-8, not JSON, or nested so deeply that the decoder would exhaust the stack (a
    RecursionError, a 500 if left to escape)."""
    try:
        return json.loads(request.body or b"")
    except RecursionError:
        raise BadJson("The JSON body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise BadJson("The body is not valid JSON.") from None
