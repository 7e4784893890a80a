"""A real OpenID provider for the single sign-on tests: the certified `oidc-provider` npm
package, run by Node.js on loopback (tests/oidc_provider/provider.js), and a browser
stand-in that signs in on the provider's own pages."""

import json
import random
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
PORTS = range(8400, 8500)  # the ports this project's tests may use
CLIENTS = {
    "contoso": ("portal-contoso", "contoso-client-secret"),
    "fabrikam": ("portal-fabrikam", "fabrikam-client-secret"),
}


def callback_url(slug):
    return f"http://{slug}.us.portal.localhost/login/sso/callback/"


@dataclass(frozen=True)
class OpenIdProvider:
    issuer: str

    def client(self, slug):
        return CLIENTS[slug]

    def tamper(self, **claims):
        """Make the provider's next ID tokens carry these claims (re-signed with its key)."""
        requests.post(f"{self.issuer}/__test__/tamper", json=claims, timeout=5).raise_for_status()

    def account_claims(self, set=None, remove=()):  # noqa: A002 - the switch's own word
        """Make every account say these claims about itself, in ID tokens and UserInfo."""
        body = {"set": set or {}, "remove": list(remove)}
        requests.post(f"{self.issuer}/__test__/account", json=body, timeout=5).raise_for_status()

    def behave(self):
        requests.delete(f"{self.issuer}/__test__/tamper", timeout=5).raise_for_status()


def _free_port():
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("No free port in 8400-8499 for the OpenID provider.")


def _install():
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PROVIDER_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def oidc_provider():
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to run the OpenID provider.")
    _install()
    port = _free_port()
    clients = [
        {"client_id": client_id, "client_secret": secret, "redirect_uris": [callback_url(slug)]}
        for slug, (client_id, secret) in CLIENTS.items()
    ]
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [node, "provider.js", str(port), json.dumps(clients)],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            ready = process.stdout.readline()
            if not ready.startswith("ready"):
                log.seek(0)
                raise RuntimeError(f"The OpenID provider did not start: {log.read()[-2000:]}")
            yield OpenIdProvider(issuer=ready.split()[1])
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def with_query(url, **changes):
    """url with some query parameters replaced (what a tampering browser would send)."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def sign_in_at_provider(authorization_url, login):
    """Follow the portal's redirect through the provider's sign-in and consent pages, as a
    browser would, and return the URL the provider sends the browser back to."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=False, timeout=10)
    for _ in range(12):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if "portal.localhost" in urlsplit(location).netloc:
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, response.text[:500]
        prompt = "login" if 'name="login"' in response.text else "consent"
        response = browser.post(
            response.url,
            data={"prompt": prompt, "login": login, "password": "any password"},
            allow_redirects=False,
            timeout=10,
        )
    raise AssertionError("The provider never sent the browser back to the portal.")
