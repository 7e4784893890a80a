"""The client's address, and a request's JSON body."""

import functools
import json
from ipaddress import ip_address, ip_network

from django.conf import settings


def client_ip(request):
    """The client's address: the socket peer, or, behind TRUSTED_PROXIES reverse proxies,
    the address the outermost trusted proxy saw (from X-Forwarded-For), None when the header
    is shorter than the proxies it should have passed. The header counts only on a connection
    from FORWARDED_ALLOW_IPS (review 3, finding 4): from anywhere else it is the client's own
    words. Never with an IPv6 zone ("fe80::1%eth0"): it names an interface of the server or
    proxy, not the client, and PostgreSQL's inet column refuses it."""
    hops = settings.TRUSTED_PROXIES
    address = request.META.get("REMOTE_ADDR", "")
    if not hops and "%" not in address:
        # The WSGI server's socket peer: already a valid address, and this runs on every
        # API call, so it is not parsed again.
        return address or None
    peer = _parsed(address)
    if not hops or peer is None or not _from_proxy(peer):
        return None if peer is None else str(peer)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    # Right to left: the last entry is what the proxy we talk to saw, and each proxy further
    # out appended the one before it; whatever the client wrote itself stands further left.
    if len(forwarded) < hops:
        return None
    client = _parsed(forwarded[-hops])
    return None if client is None else str(client)


def _parsed(text):
    try:
        return ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _from_proxy(peer):
    proxies = _proxies(tuple(settings.FORWARDED_ALLOW_IPS))
    if proxies is None:
        return True
    mapped = getattr(peer, "ipv4_mapped", None)
    return any(peer in net or (mapped is not None and mapped in net) for net in proxies)


@functools.lru_cache(maxsize=8)
def _proxies(allowed):
    """FORWARDED_ALLOW_IPS as networks, parsed once; None for "*", any peer."""
    if "*" in allowed:
        return None
    return tuple(ip_network(entry, strict=False) for entry in allowed)


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
