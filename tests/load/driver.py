"""The load: API clients, a page user who generates and revokes tokens, and a watcher of last
use. Every call is recorded with its send and receive times (time.monotonic) for the checks."""

import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from testbed.server import request

TOKENS_PAGE = "/settings/security-extensions/api-tokens/"
REVEALED = re.compile(r'id="token-value"[^>]*>([^<]+)</textarea>')


@dataclass(frozen=True)
class Call:
    kind: str
    token: str | None  # id of the token that authenticated it, if any
    sent: float
    received: float
    status: int | None
    error: str | None = None


@dataclass
class Run:
    port: int
    seed: dict
    stop: threading.Event = field(default_factory=threading.Event)
    calls: list = field(default_factory=list)
    secrets: dict = field(default_factory=dict)  # token id -> secret
    churned: list = field(default_factory=list)  # ids generated through the page, in order
    revoked: dict = field(default_factory=dict)  # token id -> when its revocation returned
    last_use: list = field(default_factory=list)  # (token id, last_used_at) as sampled

    def __post_init__(self):
        for token in self.seed["steady"]:
            self.secrets[token["id"]] = token["secret"]

    def call(self, kind, method, path, *, token=None, secret=None, **kwargs):
        """Send one request, authenticated by token (an id) or secret, and record it; returns
        (response, body), or (None, b"") when the connection failed."""
        headers = kwargs.pop("headers", {})
        secret = secret or self.secrets.get(token)
        if secret is not None:
            headers["Authorization"] = f"Token {secret}"
        sent = time.monotonic()
        try:
            response, body = request(self.port, method, path, headers=headers, **kwargs)
        except Exception as error:  # noqa: BLE001 - a dropped connection is data here
            self.calls.append(Call(kind, token, sent, time.monotonic(), None, repr(error)))
            return None, b""
        self.calls.append(Call(kind, token, sent, time.monotonic(), response.status))
        return response, body


def api_client(run, address, rng):
    """Calls the API with steady tokens and, more often, with the newest churned ones:
    those about to be revoked, being revoked, or just revoked."""
    headers = {"X-Forwarded-For": address}
    while not run.stop.is_set():
        recent = run.churned[-3:]
        token = rng.choice(recent) if recent and rng.random() < 0.6 else None
        token = token or rng.choice(run.seed["steady"])["id"]
        path = "/api/v1/me/" if rng.random() < 0.8 else "/api/v1/tokens/?page_size=5"
        run.call("api", "GET", path, token=token, headers=dict(headers))


class PageUser:
    """A full admin in a browser: a session cookie and the CSRF token, nothing else."""

    def __init__(self, run):
        self.run, self.cookies = run, {}
        self.host = f"{run.seed['host']}:{run.port}"

    def send(self, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response, content = self.run.call(
            "page", method, path, host=self.host, headers=headers, body=body
        )
        if response is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
        return (response.status if response is not None else None), content

    def sign_in(self):
        self.send("GET", "/login/")
        status, _ = self.send(
            "POST",
            "/login/",
            {"username": self.run.seed["email"], "password": self.run.seed["password"]},
        )
        if status != 302:
            raise RuntimeError(f"Sign-in answered {status}.")

    def generate(self, name):
        form = {"name": name, "expiry": "none", "form_id": uuid.uuid4().hex}
        status, content = self.send("POST", TOKENS_PAGE + "new/", form)
        match = REVEALED.search(content.decode(errors="replace"))
        return match.group(1) if status == 200 and match else None

    def revoke(self, token_id):
        status, _ = self.send("POST", f"{TOKENS_PAGE}{token_id}/revoke/", {})
        return status == 302


def churn(run, rng):
    """Generates tokens on the page and revokes each soon after, on the page or the API."""
    user = PageUser(run)
    user.sign_in()
    watcher = run.seed["watcher"]
    run.secrets[watcher["id"]] = watcher["secret"]
    number = 0
    while not run.stop.is_set():
        number += 1
        secret = user.generate(f"churn {number}")
        if secret is None:
            continue
        response, body = run.call("api", "GET", "/api/v1/me/", secret=secret)
        if response is None or response.status != 200:
            continue
        token_id = json.loads(body)["token"]["id"]
        run.secrets[token_id] = secret
        run.churned.append(token_id)
        run.stop.wait(rng.uniform(0.2, 0.5))  # let the clients use it a while
        if number % 2:
            revoked = user.revoke(token_id)
        else:
            response, _ = run.call(
                "revoke", "DELETE", f"/api/v1/tokens/{token_id}/", token=watcher["id"]
            )
            revoked = response is not None and response.status == 204
        if revoked:
            run.revoked[token_id] = time.monotonic()


def watch(run):
    """Samples every live token's last use, as the full admin's API token sees it."""
    watcher = run.seed["watcher"]["id"]
    while not run.stop.wait(0.2):
        response, body = run.call("watch", "GET", "/api/v1/tokens/?page_size=200", token=watcher)
        if response is not None and response.status == 200:
            for token in json.loads(body)["results"]:
                run.last_use.append((token["id"], token["last_used_at"]))


def start(run, clients, seed=1):
    """Start the clients, the churn and the watcher; returns their threads."""
    threads = [
        threading.Thread(
            target=api_client, args=(run, f"203.0.113.{n + 1}", random.Random(seed + n))
        )
        for n in range(clients)
    ]
    threads.append(threading.Thread(target=churn, args=(run, random.Random(seed))))
    threads.append(threading.Thread(target=watch, args=(run,)))
    for thread in threads:
        thread.start()
    return threads
