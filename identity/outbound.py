"""The portal's calls to a tenant's identity provider, safe wherever they are aimed (issue 14).

A full admin chooses the issuer and the issuer's discovery document chooses every other
endpoint, so each URL here is input. Every call:
- goes to an http(s) URL without credentials in it: https, to a host name, unless
  IDENTITY_PROVIDER_PRIVATE_NETWORKS_ALLOWED (tests, a provider on a developer's machine);
- connects to a public address only: the name is resolved once, every answer is checked, and
  the socket connects to the address that was checked, so DNS rebinding cannot swap it;
- follows no redirect and no proxy from the environment;
- has short connect and read timeouts, an overall deadline and a size limit for the answer.
Every failure is ProviderUnavailable. Its message names the cause for the log; users only ever
see one message for all of them, so the sign-in page tells nobody what answers where.
"""

import ipaddress
import socket
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError
from urllib3.util import connection as urllib3_connection

MAX_URL_LENGTH = 2000
MAX_ANSWER_BYTES = 1_000_000  # discovery documents and key sets are a few kilobytes
DEFAULT_PORTS = {"http": 80, "https": 443}


class ProviderUnavailable(Exception):
    """The provider cannot be used; the message is the cause, for the log only."""


# -- which URLs and addresses -----------------------------------------------------------------


def private_networks_allowed():
    return settings.IDENTITY_PROVIDER_PRIVATE_NETWORKS_ALLOWED


def is_internal(address):
    """Loopback, private, link-local, shared, reserved, multicast or unspecified: anything but
    an address of the public internet."""
    address = getattr(address, "ipv4_mapped", None) or address
    return not address.is_global or address.is_multicast


def _ip_literal(host):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _local_name(host):
    # RFC 6761: localhost and its sub-domains are this machine, whatever DNS says.
    host = host.rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def url_problem(url, subject="The URL"):
    """Why the portal may not call url, in words for a full admin; None if it may."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return f"{subject} must be a URL of at most {MAX_URL_LENGTH} characters."
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return f"{subject} cannot contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "The port must be a number from 1 to 65535."
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return f"{subject} must use https, with a host name."
    if "@" in parts.netloc:
        return f"{subject} cannot contain a user name or password."
    if port == 0:
        return "The port must be a number from 1 to 65535."
    host = parts.hostname
    if not host.isascii():
        return "Write the host name in ASCII: its xn-- form."
    internal = _local_name(host) or (_ip_literal(host) is not None)
    if private_networks_allowed():
        if parts.scheme == "http" and not internal:
            return (
                f"{subject} must use https (plain http only on this machine or a private network)."
            )
        return None
    if parts.scheme != "https":
        return f"{subject} must use https."
    if _local_name(host) or (_ip_literal(host) and is_internal(_ip_literal(host))):
        return f"{subject} cannot be on a loopback, private or link-local address."
    if _ip_literal(host):
        return "Use the provider's host name, not an IP address."
    return None


def _origin(url):
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme]


def check_endpoint(name, url, issuer):
    """A discovery document's endpoint: a URL the portal may call, on the issuer's own scheme,
    host and port, or on a host of IDENTITY_PROVIDER_ENDPOINT_HOSTS."""
    problem = url_problem(url)
    if problem:
        raise ProviderUnavailable(f"{name} {str(url)[:200]!r} refused: {problem}")
    if _origin(url) == _origin(issuer):
        return url
    if urlsplit(url).hostname in settings.IDENTITY_PROVIDER_ENDPOINT_HOSTS:
        return url
    raise ProviderUnavailable(
        f"{name} {url[:200]!r} is not on the issuer's host (nor in "
        "IDENTITY_PROVIDER_ENDPOINT_HOSTS)"
    )


def checked_address(host, port):
    """The one address to connect to for host: resolved once, every answer checked."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise ProviderUnavailable(f"{host} does not resolve ({error})") from None
    if not answers:
        raise ProviderUnavailable(f"{host} does not resolve")
    if not private_networks_allowed():
        for *_, sockaddr in answers:
            # An IPv6 zone ("fe80::1%eth0") names an interface, not part of the address.
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if is_internal(address):
                raise ProviderUnavailable(f"{host} resolves to the internal address {address}")
    return answers[0][4][0]


# -- the HTTP client --------------------------------------------------------------------------


class _PinnedConnection:
    """Connects to the checked address; TLS still checks the certificate against the name."""

    def _new_conn(self):
        address = checked_address(self._dns_host, self.port)
        try:
            return urllib3_connection.create_connection(
                (address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(self, f"Connecting to {self.host} timed out") from error
        except OSError as error:
            raise NewConnectionError(self, f"Could not connect to {self.host}: {error}") from error


class _HTTPConnection(_PinnedConnection, HTTPConnection):
    pass


class _HTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class ProviderAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        problem = url_problem(request.url)
        if problem:
            raise ProviderUnavailable(f"{request.url[:200]!r} refused: {problem}")
        connect = settings.IDENTITY_PROVIDER_CONNECT_TIMEOUT
        read = settings.IDENTITY_PROVIDER_READ_TIMEOUT
        deadline = time.monotonic() + connect + read
        response = super().send(
            request, stream=True, timeout=(connect, read), verify=verify, cert=cert
        )
        if 300 <= response.status_code < 400:
            response.close()
            raise ProviderUnavailable(
                f"{request.url[:200]!r} answered {response.status_code}: redirects are not followed"
            )
        _read_bounded(response, deadline)
        return response


def _read_bounded(response, deadline):
    """Read the whole answer now, one socket read at a time, so that neither its size nor a
    provider that sends it a byte at a time can hold the worker."""
    body = bytearray()
    try:
        while chunk := response.raw.read1(65536, decode_content=True):
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise ProviderUnavailable(f"{response.url[:200]!r} answered more than 1 MB")
            if time.monotonic() > deadline:
                raise ProviderUnavailable(f"{response.url[:200]!r} answered too slowly")
    except (HTTPError, OSError) as error:
        raise ProviderUnavailable(f"reading {response.url[:200]!r} failed: {error}") from None
    finally:
        response.close()
    response._content = bytes(body)
    response._content_consumed = True


def harden(session):
    """Make a requests session (Authlib's OAuth2Session is one) call providers safely."""
    session.trust_env = False  # no proxy or .netrc from the environment
    session.proxies.clear()
    session.max_redirects = 0
    adapter = ProviderAdapter(max_retries=0)
    for prefix in ("http://", "https://"):
        session.mount(prefix, adapter)
    return session


def get_json(url):
    """GET a provider's JSON document (any JSON value: callers check its shape)."""
    with harden(requests.Session()) as session:
        try:
            response = session.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except requests.RequestException as error:
            raise ProviderUnavailable(f"GET {url[:200]!r} failed: {error}") from None
        except ValueError:
            raise ProviderUnavailable(f"GET {url[:200]!r} did not answer JSON") from None
