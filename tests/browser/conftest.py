"""Real-browser tests: Playwright (sync API) drives Debian's Chromium against the live server.

pytest-django's live_server serves the app for real on 127.0.0.1; the browser opens the tenant's
custom URL (http://contoso.us.portal.localhost:<port>/), which Chromium resolves to loopback.
One browser serves the whole suite; every page gets a fresh context (cookies, storage, clipboard
permission). Playwright cannot download browsers here, so without /usr/bin/chromium the suite is
skipped as a whole, with one reason line.
"""

import http.client
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tenants.models import Role
from tests.factories import PASSWORD, UserFactory
from tokens.models import Token
from tokens.services import token_issue

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
BLOCKING_IMPACTS = ("serious", "critical")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOKENS_URL = "/settings/security-extensions/api-tokens/"
# Generous for a busy 2-core machine, short enough that a broken journey fails quickly.
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, pinned to 127.0.0.1: "localhost" may resolve to ::1 first."""
    server = LiveServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture(scope="package", autouse=True)
def browser():
    # Playwright's sync API keeps an asyncio loop running in this thread, which Django's
    # async-safety check takes for async code. The ORM calls made here are plain synchronous
    # ones, so the check is lifted for the browser suite only.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
            )
            yield browser
            browser.close()


@pytest.fixture
def custom_url(live_server, settings, tenant):
    """The tenant's custom URL, with the live server's port, exactly as the portal prints it."""
    settings.PORTAL_PORT = str(live_server.thread.port)
    return tenant.custom_url


@pytest.fixture
def new_page(browser, custom_url):
    """new_page(**context_options): a page in a fresh context on the tenant's custom URL.

    bypass_csp lets axe-core be injected: the portal's CSP forbids inline scripts. The test
    fails if any page throws an uncaught JavaScript error."""
    contexts, errors = [], []

    def make(**options):
        options = {"viewport": DESKTOP, "bypass_csp": True, **options}
        context = browser.new_context(base_url=custom_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(error))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page_as(new_page, custom_url):
    """page_as(user, **context_options): a page signed in as user, showing the API tokens page.

    The session is made server-side (the sign-in form has journeys of its own), which keeps
    the suite fast on a 2-core machine."""

    def sign_in(user, **options):
        page = new_page(**options)
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": custom_url}]
        )
        page.goto(TOKENS_URL)
        expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
        return page

    return sign_in


@pytest.fixture
def sign_in_with_form():
    """sign_in_with_form(page, user): what a person does on the sign-in page."""

    def sign_in(page, user, password=PASSWORD):
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    return sign_in


@pytest.fixture
def axe_check():
    """axe_check(page, state): run axe-core on the page as it is now and fail on any serious or
    critical violation. Every violation found is also written to test-artifacts/axe/.

    axe-core needs JavaScript: to check a page as browsers without JavaScript show it, block
    the portal's own script (page.route) rather than use java_script_enabled=False."""

    def check(page, state):
        if not page.evaluate("typeof window.axe === 'object'"):
            page.add_script_tag(content=AXE_SOURCE)
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        _save_axe_report(state, page, violations)
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe found in {state}:\n" + "\n".join(map(_describe, blocking))

    return check


def _describe(violation):
    targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
    return f"- {violation['impact']} {violation['id']}: {violation['help']} ({targets})"


def _save_axe_report(state, page, violations):
    folder = ARTIFACTS / "axe"
    folder.mkdir(parents=True, exist_ok=True)
    report = {"state": state, "url": page.url, "violations": violations}
    (folder / f"{state}.json").write_text(json.dumps(report, indent=2))


@pytest.fixture
def snap():
    """snap(page, state): save a viewport screenshot to test-artifacts/screenshots/."""

    def save(page, state):
        folder = ARTIFACTS / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"{state}.png")

    return save


@pytest.fixture
def api_get(live_server, tenant):
    """api_get(path, secret) -> (status, JSON body): a script calling the API on the tenant's
    custom host with Authorization: Token <secret>."""

    def get(path, secret):
        connection = http.client.HTTPConnection("127.0.0.1", live_server.thread.port, timeout=10)
        try:
            connection.request(
                "GET",
                path,
                headers={
                    "Host": f"{tenant.host}:{live_server.thread.port}",
                    "Authorization": f"Token {secret}",
                },
            )
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    return get


@pytest.fixture
def token_of():
    """token_of(owner, name, generated_days_ago=1, used_days_ago=None) -> (token, secret)."""

    def make(owner, name, generated_days_ago=1, used_days_ago=None):
        issued = token_issue(owner=owner, name=name)
        now = timezone.now()
        last_used = None if used_days_ago is None else now - timedelta(days=used_days_ago)
        Token.objects.filter(pk=issued.token.pk).update(
            created_at=now - timedelta(days=generated_days_ago), last_used_at=last_used
        )
        issued.token.refresh_from_db()
        return issued.token, issued.secret

    return make


@pytest.fixture
def tokens_of_every_kind(token_of, full_admin, operator, reader):
    """A tenant with tokens in every status, of every role, and one of a deprovisioned owner."""
    former = UserFactory(
        tenant=full_admin.tenant, role=Role.SECURITY_OPERATOR, email="former@contoso.test"
    )
    tokens = {
        "siem": token_of(full_admin, "SIEM export", 40, used_days_ago=0.1),
        "terraform": token_of(full_admin, "Terraform provider", 120, used_days_ago=30),
        "soar": token_of(operator, "SOAR playbooks", 60, used_days_ago=1),
        "ci": token_of(operator, "CI pipeline", 2),
        "grafana": token_of(reader, "Grafana dashboard", 30, used_days_ago=3),
        "legacy": token_of(former, "Legacy sync job", 400, used_days_ago=2),
    }
    former.deprovision()
    return tokens


@pytest.fixture
def generate_token():
    """generate_token(page, name) -> the value shown once: Generate new token, name, Next."""

    def generate(page, name):
        page.get_by_role("button", name="Generate new token").click()
        page.get_by_label("Token name").fill(name)
        page.get_by_role("button", name="Next").click()
        reveal = page.get_by_role("dialog", name="Copy your new token")
        expect(reveal).to_be_visible()
        return reveal.get_by_label("Token", exact=True).input_value()

    return generate


@pytest.fixture
def token_names():
    """token_names(page): the names in the tokens table, top to bottom."""

    def names(page):
        return page.locator("tbody .token-name").all_inner_texts()

    return names
