"""Every page reachable from the menus, as every role, on a phone and a desktop, light and dark.

The pages are discovered, not listed: the crawl starts at the top bar's menus and follows the
links a person would (menu entries, the link cards of index pages, header actions and the first
link of each table), so a page added to a menu is covered without touching this file. Each page
must not scroll sideways, must not clip a table cell, and must pass axe-core (serious/critical).

One browser and one signed-in context per role and colour scheme keep it quick: the viewport is
resized between the two widths instead of opening new contexts.
"""

import io
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import Action, AuditEvent, Via
from integrations.forms import LogCollectorForm, SiemAgentForm
from integrations.models import SiemAgent
from integrations.services import integration_create
from portal.management.commands._demo_story import USERS as DEMO_USERS
from tenants.models import Role, Tenant, User
from tenants.services import service_account_create
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS, TOKENS_URL
from tests.browser.layout import layout_problems
from tests.factories import UserFactory
from tokens.models import Token, TokenKind
from tokens.services import token_issue

pytestmark = pytest.mark.browser

WIDTHS = {"375": PHONE, "1280": DESKTOP}
SCHEMES = ("light", "dark")
# The links a person follows from the menus. Table links are sampled once per URL shape.
LINKS = (
    "nav[aria-label='Main'] a[href]",
    "main .link-card a[href]",
    "main .header-actions a[href]:not([download])",
    "main tbody th a[href]",
)
# Followed as well on the demo's data: every row, every status filter, every page of a table.
FILTER_LINKS = "main nav.filter a[href]"
FILTERS = ("status", "owner", "revoked")
ROW_LINKS = ("main tbody th a[href]", FILTER_LINKS, "main .pagination a[href]")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def lived_in_tenant(tokens_of_every_kind, full_admin, operator, reader, token_of):
    """A tenant with something on every page: tokens of every kind and status, integrations,
    provisioning tokens, long names and addresses, and audit events of every sort."""
    tenant = full_admin.tenant
    long_owner = UserFactory(
        tenant=tenant,
        role=Role.SECURITY_OPERATOR,
        email="margaret.hamilton-apollo.guidance@engineering.contoso.test",
    )
    token_of(long_owner, "Nightly vulnerability export to the data lake (EU region)", 10, 2)
    token_issue(owner=full_admin, name="Okta provisioning", kind=TokenKind.PROVISIONING)
    siem = SiemAgentForm(
        {"name": "Splunk HQ", "format": "cef", "host": "siem.example.net", "port": 514},
        tenant=tenant,
    )
    collector = LogCollectorForm(
        {"name": "Edge proxies", "source_type": "proxy", "receiver": "syslog", "port": 514},
        tenant=tenant,
    )
    # A second agent with every health detail filled: TLS, its version, events waiting.
    lagging = SiemAgentForm(
        {
            "name": "Microsoft Sentinel (EU West)",
            "format": "json",
            "host": "sentinel-ingest.westeurope.example.net",
            "port": 6514,
            "tls": "on",
        },
        tenant=tenant,
    )
    for form in (siem, collector, lagging):
        assert form.is_valid(), form.errors
        integration_create(form=form, by=full_admin)
    SiemAgent.objects.filter(name=lagging.cleaned_data["name"]).update(
        last_heartbeat_at=timezone.now(),
        agent_version="0.1.0-rc.12+build.2026",
        delivered_sequence=1,
    )
    # Service accounts, one with a long name and description and a token, one flagged No
    # sponsor: the list and each account's page (reached from the list's names).
    exporter = service_account_create(
        tenant=tenant,
        name="nightly-vulnerability-export-to-the-data-lake-eu-west",
        role=Role.SECURITY_READER,
        sponsor=long_owner,
        description="Exports the vulnerability findings every night to the EU data lake",
    )
    token_of(exporter.user, "Data lake export (EU West, nightly)", 20, 1)
    flagged = service_account_create(
        tenant=tenant, name="siem-sync", role=Role.SECURITY_OPERATOR, sponsor=full_admin
    )
    User.objects.filter(pk=flagged.pk).update(
        sponsor_missing_since=timezone.now() - timedelta(days=3)
    )
    AuditEvent.objects.create(
        tenant=tenant,
        action=Action.TOKEN_REVOKED,
        via=Via.API,
        actor_email=long_owner.email,
        detail="https://contoso.us.portal.localhost/api/v1/tokens/"
        + "a" * 60
        + "/revoke/?reason=leaked-in-a-public-repository",
        client_ip="2001:db8:85a3:0:0:8a2e:370:7334",
    )
    return tenant


def _signed_in_context(browser, user, custom_url, scheme):
    context = browser.new_context(
        base_url=custom_url, viewport=DESKTOP, bypass_csp=True, color_scheme=scheme
    )
    context.set_default_timeout(TIMEOUT_MS)
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": custom_url}
    context.add_cookies([cookie])
    return context


def _discover(page, custom_url, every_row=False, extra=()):
    """Breadth-first from the top bar: every page the menus lead to, as path and query.

    Pages are sampled once per URL shape (a token's page stands for all), unless every_row:
    then every row of every table is opened, and the status filters are followed too."""
    origin = urlsplit(custom_url).netloc
    found, queue, shapes = [], ["/", *extra], set()
    selectors = LINKS + (ROW_LINKS if every_row else ())
    while queue:
        page.goto(queue.pop(0))
        url = urlsplit(page.url)
        here = url.path + (f"?{url.query}" if url.query else "")
        if here in found:
            continue
        found.append(here)
        for selector in selectors:
            for href in page.locator(selector).evaluate_all("els => els.map(a => a.href)"):
                url = urlsplit(href)
                query = url.query
                if selector == FILTER_LINKS:  # a filter, not each filter with each sort
                    query = urlencode([(k, v) for k, v in parse_qsl(query) if k in FILTERS])
                target = url.path + (f"?{query}" if query else "")
                shape = UUID.sub("<id>", target)
                sampled = selector in LINKS and selector not in ROW_LINKS
                if url.netloc != origin or target in found or (sampled and shape in shapes):
                    continue
                if every_row or shape not in shapes:
                    shapes.add(shape)
                    queue.append(target)
    return found


def _check(page, state, axe_check=None):
    problems = layout_problems(page, state)
    if axe_check is None:
        return problems
    try:
        axe_check(page, state)
    except AssertionError as failure:
        problems.append(str(failure))
    return problems


def _crawl(browser, custom_url, users, axe_check, every_row=False, extra=(), snap=None):
    """Each role's pages at both widths in both schemes: (problems, the paths per role).

    axe-core runs once per page shape and width (it is the slow part); the layout checks run
    on every page. When every_row, the dark scheme sees one page per shape too."""
    problems, seen = [], {}
    for role, user in users:
        for scheme in SCHEMES:
            context = _signed_in_context(browser, user, custom_url, scheme)
            try:
                page = context.new_page()
                errors = []
                page.on("pageerror", lambda error, errors=errors: errors.append(error))
                paths = seen.get(role) or _discover(page, custom_url, every_row, extra)
                seen[role] = paths
                checked = set()
                for path in paths:
                    shape = UUID.sub("id", path)
                    if every_row and scheme == "dark" and shape in checked:
                        continue
                    page.goto(path)
                    expect(page.locator("h1")).to_be_visible()
                    for width, viewport in WIDTHS.items():
                        page.set_viewport_size(viewport)
                        slug = re.sub(r"[^\w-]+", "-", shape.strip("/")).strip("-") or "home"
                        dark = "-dark" if scheme == "dark" else ""
                        state = f"crawl-{role}-{slug}-{width}{dark}"
                        axe = axe_check if shape not in checked else None
                        problems += _check(page, state, axe)
                        if snap and axe and scheme == "light" and role == users[0][0]:
                            snap(page, state.replace("crawl-", "demo-"))
                    checked.add(shape)
                    page.set_viewport_size(DESKTOP)
                assert not errors, f"JavaScript errors as {role}: {errors}"
            finally:
                context.close()
    return problems, seen


def test_every_menu_page_fits_and_passes_axe_for_every_role_width_and_scheme(
    browser, custom_url, lived_in_tenant, full_admin, operator, reader, axe_check
):
    users = (("full-admin", full_admin), ("operator", operator), ("reader", reader))
    problems, seen = _crawl(browser, custom_url, users, axe_check)
    # The crawl really went somewhere: each role reached more than the page it started on.
    assert all(len(paths) >= 3 for paths in seen.values()), seen
    assert "/settings/audit-log/" in seen["full-admin"]
    assert "/settings/audit-log/" not in seen["reader"]
    accounts = "/settings/security-extensions/service-accounts/"
    assert {accounts, f"{accounts}siem-sync/"} <= set(seen["full-admin"])
    assert not problems, "\n".join(problems)


@pytest.fixture
def demo_url(live_server, settings, db):
    """make run's demo tenant, loaded by the demo command itself, on its custom URL."""
    call_command("demo", stdout=io.StringIO())
    settings.PORTAL_PORT = str(live_server.thread.port)
    return Tenant.objects.get(slug="contoso").custom_url


def test_the_demo_fits_every_width_on_every_token_page_filter_and_audit_row(
    browser, demo_url, axe_check, snap
):
    """The demo is what an evaluator sees first: its own names, addresses and histories, every
    token's page, every status filter and every kind of audit row, as each demo role."""
    tenant = Tenant.objects.get(slug="contoso")
    users = [  # the full admin first: its pages are the screenshots
        (role.label.lower().replace(" ", "-"), User.objects.get(tenant=tenant, email=email))
        for email, role, _ in DEMO_USERS
    ]
    extra = (f"{TOKENS_URL}?status=bogus", f"{TOKENS_URL}?sort=name")
    problems, seen = _crawl(
        browser, demo_url, users, axe_check, every_row=True, extra=extra, snap=snap
    )
    admin_paths = seen["full-admin"]
    live = Token.objects.filter(tenant=tenant, kind=TokenKind.API, revoked_at__isnull=True)
    for token in live:
        assert any(str(token.pk) in path for path in admin_paths), f"{token.name} not opened"
    # Every kind of audit event the demo wrote was on an audit page the crawl checked.
    audit_pages = [path for path in admin_paths if path.startswith("/settings/audit-log/")]
    assert audit_pages
    kinds = set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    shown = AuditEvent.objects.filter(tenant=tenant).order_by("-id")[: len(audit_pages) * 50]
    assert kinds <= {event.action for event in shown}
    problems += _dialog_problems(browser, demo_url, users[0][1])
    assert not problems, "\n".join(problems)


def _dialog_problems(browser, custom_url, user):
    """The tokens page at 375 px under each of its dialogs."""
    context = _signed_in_context(browser, user, custom_url, "light")
    try:
        page = context.new_page()
        page.set_viewport_size(PHONE)
        page.goto(TOKENS_URL)
        problems = []
        page.get_by_role("button", name="Generate new token").click()
        expect(page.get_by_role("dialog", name="Generate new token")).to_be_visible()
        problems += _check(page, "demo-generate-dialog-375")
        page.keyboard.press("Escape")
        page.locator("tbody").get_by_role("button", name=re.compile("^Revoke")).first.click()
        expect(page.get_by_role("dialog", name="Revoke token?")).to_be_visible()
        problems += _check(page, "demo-revoke-dialog-375")
        return problems
    finally:
        context.close()
