"""Stand-ins for a misbehaving or hostile identity provider: real HTTP servers on loopback
that answer what a test tells them and record every connection and request they get.

The certified provider (tests/oidc.py) shows the flow works; these show what the portal does
when a provider, or a full admin who configures one, sends it somewhere it must not go."""

import functools
import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

DISCOVERY_PATH = "/.well-known/openid-configuration"
CLIENT_ID = "portal-stub"
CLIENT_SECRET = "stub-client-secret-never-to-leak"


@functools.cache
def signing_key():
    return RSAKey.generate_key(2048, parameters={"kid": "stub-key"})


@dataclass
class Answer:
    status: int = 200
    body: object = b""  # bytes are sent as they are; anything else as JSON
    headers: dict = field(default_factory=dict)

    def encoded(self):
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "text/html")
        return json.dumps(self.body).encode(), "application/json"


class StubProvider:
    """An HTTP server on 127.0.0.1 whose answers are set per path; unknown paths get 404.

    hang: accept connections and never answer (a provider that is down in the worst way).
    """

    def __init__(self, *, hang=False, host="127.0.0.1", port=0):
        self.routes = {}
        self.requests = []  # (method, path, headers, body)
        self.connections = 0
        self.key = signing_key()
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self):
                stub.connections += 1
                super().setup()

            def handle(self):
                if hang:
                    stub._stop.wait(30)
                    return
                super().handle()

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append((self.command, self.path, dict(self.headers), body))
                answer = stub.routes.get(urlsplit(self.path).path, Answer(404, b"Not Found"))
                content, content_type = answer.encoded()
                self.send_response(answer.status)
                self.send_header("Content-Type", content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.issuer = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    # -- a well-behaved provider, to be broken one piece at a time -----------------------------

    def discovery(self, **changes):
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/auth",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "id_token_signing_alg_values_supported": ["RS256"],
            **changes,
        }

    def behave(self, **discovery_changes):
        self.routes[DISCOVERY_PATH] = Answer(body=self.discovery(**discovery_changes))
        self.routes["/jwks"] = Answer(body={"keys": [self.key.as_dict(private=False)]})
        return self

    def id_token(self, nonce, **claims):
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "someone",
            "nonce": nonce,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": "stub-key"}, payload, self.key)

    def token_answer(self, nonce, **claims):
        return {
            "access_token": "stub-access-token",
            "token_type": "Bearer",
            "id_token": self.id_token(nonce, **claims),
        }

    def received(self, path):
        return [request for request in self.requests if urlsplit(request[1]).path == path]


@contextmanager
def stub_provider(**options):
    stub = StubProvider(**options).start()
    try:
        yield stub
    finally:
        stub.stop()


@contextmanager
def closed_port():
    """A loopback port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


def authorization_query(location):
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
