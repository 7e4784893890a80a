"""Allowed networks: lists of IPv4/IPv6 addresses and CIDR ranges that a token (or every token
of a tenant) may be used from (CONTRACT §12).

A list is stored as one string of normalised ranges separated by spaces, "" for anywhere, so
that it travels inside the cached token at no cost and reads the same on SQLite and
PostgreSQL. It is parsed once per process and string (allows), not once per request.
"""

import functools
import re
from ipaddress import ip_address, ip_network

from django.core.exceptions import ValidationError

MAX_NETWORKS = 50
# The longest entry PATTERN accepts is a full IPv6 address with a prefix length (43
# characters); anything longer is refused before the regular expression sees it.
MAX_ENTRY_LENGTH = 45
# What a typed list may take: every entry at its longest, one separator each.
MAX_TEXT_LENGTH = MAX_NETWORKS * (MAX_ENTRY_LENGTH + 2)

# What an entry may look like: an IPv4 or IPv6 address, with or without a prefix length; no
# IPv6 zone ("%eth0": a zone names an interface of the server, not a network). The API
# document states it too, so the API accepts exactly the strings it documents.
_HEX = "[0-9a-fA-F]{1,4}"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"({_OCTET}\.){{3}}{_OCTET}"
_IPV6 = "|".join(
    [
        rf"({_HEX}:){{7}}{_HEX}",
        rf"({_HEX}:){{1,7}}:",
        rf"({_HEX}:){{1,6}}:{_HEX}",
        rf"({_HEX}:){{1,5}}(:{_HEX}){{1,2}}",
        rf"({_HEX}:){{1,4}}(:{_HEX}){{1,3}}",
        rf"({_HEX}:){{1,3}}(:{_HEX}){{1,4}}",
        rf"({_HEX}:){{1,2}}(:{_HEX}){{1,5}}",
        rf"{_HEX}:(:{_HEX}){{1,6}}",
        rf":((:{_HEX}){{1,7}}|:)",
        rf"::([fF]{{4}}:)?{_IPV4}",  # IPv4-mapped
    ]
)
PATTERN = rf"^({_IPV4}(/(3[0-2]|[12]?[0-9]))?|({_IPV6})(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"
_ENTRY = re.compile(PATTERN)


class BadNetworks(ValueError):
    """A list that cannot be allowed networks; str() is a sentence for the person who sent it."""


def normalised(values):
    """The ranges of values (strings, each matching PATTERN), each as its network
    ("10.0.0.5/24" is 10.0.0.0/24, an address is its /32 or /128), without duplicates, in the
    order given. Raises BadNetworks, naming the entries that are no range (the first
    MAX_NAMED, then how many more).

    Its cost is bounded by MAX_NETWORKS, whatever it is sent: a longer list is refused before
    any entry is parsed, and so is an entry longer than any address (review 3, finding 1: a
    40,000-entry list held a worker for seconds)."""
    if len(values) > MAX_NETWORKS:
        raise BadNetworks(f"Allow at most {MAX_NETWORKS} networks (this list has {len(values)}).")
    networks = {}  # a dict keeps the order given and finds duplicates in constant time
    bad = []
    for value in values:
        network = None
        if len(value) <= MAX_ENTRY_LENGTH and _ENTRY.fullmatch(value):
            try:
                network = str(ip_network(value, strict=False))
            except ValueError:  # an IPv4-mapped address with a prefix length, say
                network = None
        if network is None:
            bad.append(value)
        else:
            networks[network] = None
    if bad:
        raise BadNetworks(_not_networks(bad))
    return list(networks)


# How many bad entries a message names before it counts the rest: all of them can be fixed in
# one go, and the sentence stays readable.
MAX_NAMED = 5


def _not_networks(bad):
    """The sentence refusing the entries bad (in the order given), each named, up to MAX_NAMED."""
    named = [f"“{value if len(value) <= 45 else value[:44] + '…'}”" for value in bad[:MAX_NAMED]]
    if len(bad) == 1:
        return f"{named[0]} is not an IPv4 or IPv6 address or CIDR range."
    more = len(bad) - len(named)
    last = f"{more} more" if more else named.pop()
    return f"{', '.join(named)} and {last} are not IPv4 or IPv6 addresses or CIDR ranges."


def split(text):
    """The entries of a list typed in a form: one per line, or separated by commas or spaces.
    Callers bound text's length first (MAX_TEXT_LENGTH)."""
    return text.replace(",", " ").split()


def stored(networks):
    return " ".join(networks)


def listed(text):
    return text.split()


def allows(text, address):
    """Whether the stored list text lets address (a string, or None when unknown) through.
    An IPv4 client seen as IPv4-mapped IPv6 (::ffff:10.0.0.1) matches IPv4 ranges."""
    if not text:
        return True
    if address is None:
        return False
    try:
        client = ip_address(address)
    except ValueError:
        return False
    mapped = getattr(client, "ipv4_mapped", None)
    return any(client in net or (mapped is not None and mapped in net) for net in _parsed(text))


def within(inner, outer):
    """Whether every address the stored list inner allows, outer allows too."""
    if not outer:
        return True
    if not inner:
        return False
    return all(
        any(net.version == wide.version and net.subnet_of(wide) for wide in _parsed(outer))
        for net in _parsed(inner)
    )


def validate_stored(text):
    """A model field's validator (Django admin edits the stored form directly): a list as
    normalised() would store it."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationError(f"Allow at most {MAX_NETWORKS} networks.")
    try:
        if stored(normalised(split(text))) == text:
            return
        problem = "Write the ranges normalised, separated by single spaces: " + stored(
            normalised(split(text))
        )
    except BadNetworks as error:
        problem = str(error)
    raise ValidationError(problem)


@functools.lru_cache(maxsize=4096)
def _parsed(text):
    # An entry that is no range (written around validation) allows nothing, never a 500: a
    # list with only such entries refuses every address.
    ranges = []
    for network in text.split():
        try:
            ranges.append(ip_network(network, strict=False))
        except ValueError:
            continue
    return tuple(ranges)


# How finely "used from a new address" tells networks apart (tokens.sightings): a home or
# office line, or a cloud host's subnet, keeps its /24 (IPv4) or /64 (IPv6) while the address
# inside it changes, so moving within one is not news.
SIGHTING_PREFIX = {4: 24, 6: 64}


def sighting_network(address):
    """The network address belongs to for new-address alerts, as a string ("203.0.113.0/24",
    "2001:db8:1:2::/64"); an IPv4-mapped IPv6 address counts as its IPv4 address. None for
    anything that is not an address."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return None
    mapped = getattr(parsed, "ipv4_mapped", None)
    if mapped is not None:
        parsed = mapped
    return str(ip_network(f"{parsed}/{SIGHTING_PREFIX[parsed.version]}", strict=False))
