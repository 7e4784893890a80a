"""A provider's discovery document and signing keys, checked once and then reused (issue 14).

Both are fetched through identity.outbound and kept in the default cache (Redis with several
hosts, else per process) for IDENTITY_PROVIDER_CACHE_SECONDS, keyed by the issuer (by the
key set's URL for keys): a tenant whose issuer changes asks the new one at once, and saving
the settings forgets what was kept for the old and the new issuer.

Anonymous visitors start single sign-on, so a provider that hangs must not hold a worker per
request. A failure is remembered for IDENTITY_PROVIDER_FAILURE_SECONDS, during which nobody
asks again, and only one request at a time asks at all: the others answer from the copy
being refreshed, or fail at once.
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import caches
from joserfc.jwk import KeySet
from redis.exceptions import RedisError

from .outbound import ProviderUnavailable, check_endpoint, get_json

logger = logging.getLogger(__name__)

# The endpoints the portal uses; userinfo is optional (the e-mail may come in the ID token).
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
OPTIONAL_ENDPOINTS = ("userinfo_endpoint",)
# Public-key signatures only: an ID token signed with a shared secret could be forged by anyone
# who knows the client secret.
SIGNING_ALGORITHMS = {
    *(f"{family}{bits}" for family in ("RS", "PS", "ES") for bits in (256, 384, 512)),
    "EdDSA",
}
# Seconds an expired copy may still be served while another request refreshes it.
REFRESH_GRACE = 60
# Keys are fetched again for an unknown key id at most this often (the provider rotated them).
KEYS_MIN_AGE = 60


def discovery_url(issuer):
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def provider_metadata(issuer):
    """What the portal uses of the issuer's discovery document, checked: its issuer is the
    configured one and every endpoint is one the portal may call."""
    return _cached(_key("discovery", issuer), lambda: _fetch_metadata(issuer))


def signing_keys(jwks_uri, *, refresh=False):
    """The provider's key set (JWKS) as a dict; refresh when a key id was not found."""
    max_age = KEYS_MIN_AGE if refresh else None
    return _cached(_key("keys", jwks_uri), lambda: _fetch_keys(jwks_uri), max_age=max_age)


def forget(*issuers):
    """Drop what is kept for these issuers: saved settings apply at the next sign-in."""
    cache = caches["default"]
    for issuer in filter(None, issuers):
        key = _key("discovery", issuer)
        entry = _cache_call(cache.get, key)
        keys = []
        if entry and entry.get("value", {}).get("jwks_uri"):
            keys = _all_keys(_key("keys", entry["value"]["jwks_uri"]))
        for name in _all_keys(key) + keys:
            _cache_call(cache.delete, name)


# -- fetching and checking --------------------------------------------------------------------


def _fetch_metadata(issuer):
    document = get_json(discovery_url(issuer))
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"the discovery document of {issuer} is not a JSON object")
    if document.get("issuer") != issuer:
        raise ProviderUnavailable(
            f"the discovery document of {issuer} names the issuer "
            f"{str(document.get('issuer'))[:200]!r}"
        )
    metadata = {"issuer": issuer}
    for name in REQUIRED_ENDPOINTS + OPTIONAL_ENDPOINTS:
        if name in OPTIONAL_ENDPOINTS and document.get(name) is None:
            continue
        metadata[name] = check_endpoint(name, document.get(name), issuer)
    offered = document.get("id_token_signing_alg_values_supported")
    offered = offered if isinstance(offered, list) else []
    # OpenID Connect Discovery §3: RS256 is always supported.
    metadata["id_token_signing_alg_values_supported"] = [
        alg for alg in offered if isinstance(alg, str) and alg in SIGNING_ALGORITHMS
    ] or ["RS256"]
    return metadata


def _fetch_keys(jwks_uri):
    document = get_json(jwks_uri)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ProviderUnavailable(f"the key set at {jwks_uri[:200]!r} is not a JWKS object")
    try:
        KeySet.import_key_set(document)
    except Exception as error:  # joserfc has many ways to refuse a malformed key
        raise ProviderUnavailable(
            f"the key set at {jwks_uri[:200]!r} cannot be used: {error!r}"
        ) from None
    return document


# -- the cache --------------------------------------------------------------------------------


def _key(kind, url):
    return f"identity:oidc:{kind}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def _all_keys(key):
    return [key, f"{key}:failed", f"{key}:fetching"]


def _cached(key, fetch, *, max_age=None):
    cache = caches["default"]
    fresh_for = settings.IDENTITY_PROVIDER_CACHE_SECONDS if max_age is None else max_age
    entry = _cache_call(cache.get, key)
    if entry and time.time() - entry["at"] < fresh_for:
        return entry["value"]
    if _cache_call(cache.get, f"{key}:failed"):
        raise ProviderUnavailable("it failed a moment ago and is not asked again yet")
    # One request asks; a crashed worker's claim lapses after the longest a call can take.
    claim = 2 * (
        settings.IDENTITY_PROVIDER_CONNECT_TIMEOUT + settings.IDENTITY_PROVIDER_READ_TIMEOUT
    )
    if _cache_call(cache.add, f"{key}:fetching", 1, timeout=int(claim) + 1, default=True) is False:
        if entry:
            return entry["value"]
        raise ProviderUnavailable("another request is asking it right now")
    try:
        value = fetch()
    except ProviderUnavailable:
        _cache_call(cache.set, f"{key}:failed", 1, settings.IDENTITY_PROVIDER_FAILURE_SECONDS)
        raise
    else:
        entry = {"at": time.time(), "value": value}
        _cache_call(cache.set, key, entry, settings.IDENTITY_PROVIDER_CACHE_SECONDS + REFRESH_GRACE)
        return value
    finally:
        _cache_call(cache.delete, f"{key}:fetching")


def _cache_call(method, *args, default=None, **kwargs):
    """A cache call that an unreachable Redis turns into a miss: sign-in then works uncached."""
    try:
        return method(*args, **kwargs)
    except RedisError as error:
        logger.warning("SSO cache unavailable (%s): asking the provider", type(error).__name__)
        return default
