"""Every page reachable from the menus, as every role, on a phone and a desktop, light and dark.

The pages are discovered, not listed: the crawl starts at the top bar's menus and follows the
links a person would (menu entries, the link cards of index pages, header actions and the first
link of each table), so a page added to a menu is covered without touching this file. Each page
must not scroll sideways, must not clip a table cell, and must pass axe-core (serious/critical).

One browser and one signed-in context per role and colour scheme keep it quick: the viewport is
resized between the two widths instead of opening new contexts.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import Action, AuditEvent, Via
from integrations.forms import LogCollectorForm, SiemAgentForm
from integrations.models import SiemAgent
from integrations.services import integration_create
from tenants.models import Role
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS
from tests.factories import UserFactory
from tokens.models import TokenKind
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
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

OVERFLOW = """() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > root.clientWidth + 1)
    .filter(el => !el.closest('.visually-hidden, [hidden]'))
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
      + ' ' + JSON.stringify(el.textContent.trim().slice(0, 40)));
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide};
}"""

CLIPPED_CELLS = """() => [...document.querySelectorAll('td, th')].filter(cell => {
  if (cell.closest('.visually-hidden')) return false;
  const style = getComputedStyle(cell);
  const hides = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
  if (hides && cell.scrollWidth > cell.clientWidth + 1) return true;
  // A cell cut off by its table's scroll box with no way to see it is clipped too.
  const box = cell.closest('.table-wrap');
  if (!box) return false;
  const boxStyle = getComputedStyle(box);
  const scrolls = ['auto', 'scroll'].includes(boxStyle.overflowX);
  return !scrolls && cell.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
}).map(cell => cell.tagName.toLowerCase() + ' '
  + JSON.stringify(cell.textContent.trim().slice(0, 40)))"""


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


def _discover(page, custom_url):
    """Breadth-first from the top bar: the paths of every page the menus lead to."""
    origin = urlsplit(custom_url).netloc
    found, queue, shapes = [], ["/"], set()
    while queue:
        page.goto(queue.pop(0))
        here = urlsplit(page.url).path
        if here in found:
            continue
        found.append(here)
        for selector in LINKS:
            for href in page.locator(selector).evaluate_all("els => els.map(a => a.href)"):
                url = urlsplit(href)
                shape = UUID.sub("<id>", url.path)
                if url.netloc != origin or shape in shapes or url.path in found:
                    continue
                shapes.add(shape)
                queue.append(url.path)
    return found


def _check(page, state, axe_check):
    problems = []
    overflow = page.evaluate(OVERFLOW)
    if overflow:
        problems.append(f"{state}: scrolls sideways {overflow}")
    clipped = page.evaluate(CLIPPED_CELLS)
    if clipped:
        problems.append(f"{state}: clipped cells {clipped}")
    try:
        axe_check(page, state)
    except AssertionError as failure:
        problems.append(str(failure))
    return problems


def test_every_menu_page_fits_and_passes_axe_for_every_role_width_and_scheme(
    browser, custom_url, lived_in_tenant, full_admin, operator, reader, axe_check
):
    problems, seen = [], {}
    for role, user in (("full-admin", full_admin), ("operator", operator), ("reader", reader)):
        for scheme in SCHEMES:
            context = _signed_in_context(browser, user, custom_url, scheme)
            try:
                page = context.new_page()
                errors = []
                page.on("pageerror", lambda error, errors=errors: errors.append(error))
                paths = seen.get(role) or _discover(page, custom_url)
                seen[role] = paths
                for path in paths:
                    page.goto(path)
                    expect(page.locator("h1")).to_be_visible()
                    for width, viewport in WIDTHS.items():
                        page.set_viewport_size(viewport)
                        slug = UUID.sub("id", path).strip("/").replace("/", "-") or "home"
                        dark = "-dark" if scheme == "dark" else ""
                        problems += _check(page, f"crawl-{role}-{slug}-{width}{dark}", axe_check)
                    page.set_viewport_size(DESKTOP)
                assert not errors, f"JavaScript errors as {role}: {errors}"
            finally:
                context.close()
    # The crawl really went somewhere: each role reached more than the page it started on.
    assert all(len(paths) >= 3 for paths in seen.values()), seen
    assert "/settings/audit-log/" in seen["full-admin"]
    assert "/settings/audit-log/" not in seen["reader"]
    assert not problems, "\n".join(problems)
