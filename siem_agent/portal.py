"""The portal's side of the agent: its heartbeat and event feed, over HTTP(S)."""

import json
import socket
import urllib.error
import urllib.parse
import urllib.request

HEARTBEAT = "/api/v1/siem/heartbeat/"
EVENTS = "/api/v1/siem/events/"


class Refused(Exception):
    """The portal said no for good (bad token, wrong kind of token, unknown tenant): retrying
    cannot help, so the agent stops with this one line."""


class Gone(Exception):
    """The portal no longer keeps events after the agent's cursor (the tenant's audit
    retention deleted them): continue from oldest_cursor, the oldest complete position."""

    def __init__(self, message, oldest_cursor):
        super().__init__(message)
        self.oldest_cursor = oldest_cursor


class Unavailable(Exception):
    """Worth retrying later: the portal is unreachable, overloaded or failing. retry_after is
    the portal's own advice in seconds (429 and 503), else None."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


def parse_url(url):
    """The portal's base URL ("https://contoso.us.portal.example"), or ValueError saying what
    is wrong with it."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be the tenant's portal address, e.g. https://contoso.us.example")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError("must be the portal's address alone, with no path or query")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    return f"{parts.scheme}://{parts.netloc}"


class Portal:
    def __init__(self, url, token, *, user_agent, timeout=30):
        self.url, self.timeout = url, timeout
        self.headers = {
            "Authorization": f"Token {token}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }

    @property
    def host(self):
        return urllib.parse.urlsplit(self.url).hostname

    def heartbeat(self, *, version, cursor):
        body = {"version": version, **({"cursor": cursor} if cursor else {})}
        return self._call("POST", HEARTBEAT, body=body)

    def events(self, *, cursor, limit):
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        return self._call("GET", f"{EVENTS}?{urllib.parse.urlencode(query)}")

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        # parse_url let only http and https through.
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        for name, value in self.headers.items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return _json(response.read(), path)
        except urllib.error.HTTPError as answer:
            raise _refusal(answer, path) from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, socket.gaierror):
                raise Refused(f"cannot find the host {self.host}: {reason.strerror}") from None
            raise Unavailable(f"cannot reach {self.url}: {_reason(reason)}") from None
        except (TimeoutError, ConnectionError, OSError) as error:
            raise Unavailable(f"cannot reach {self.url}: {_reason(error)}") from None


def _json(raw, path):
    try:
        return json.loads(raw)
    except ValueError:
        raise Refused(f"the answer from {path} is not JSON: is --url the portal?") from None


def _refusal(answer, path):
    try:
        body = json.loads(answer.read())
        detail = body.get("detail")
    except (ValueError, AttributeError, OSError):
        body, detail = {}, None
    status = answer.code
    if status == 410 and isinstance(body.get("oldest_cursor"), str):
        return Gone(str(detail), body["oldest_cursor"])
    if status == 429 or status >= 500:
        retry_after = answer.headers.get("Retry-After", "")
        seconds = int(retry_after) if retry_after.isdigit() else None
        return Unavailable(f"the portal answered {status} {answer.reason}", seconds)
    if detail is None:
        return Refused(f"{path} answered {status} {answer.reason}: is --url the portal?")
    if status == 401:
        return Refused(f"the portal refused the token: {detail}")
    return Refused(f"the portal answered {status}: {detail}")


def _reason(error):
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
