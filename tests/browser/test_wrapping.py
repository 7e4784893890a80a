"""Layout details the crawl cannot judge: where long values break, how the audit log's filters
and table sit at 1280 px, and dark-mode contrast of the selected filter and of checkboxes."""

import pytest
from playwright.sync_api import expect

from audit.services import audit_record
from tenants.models import Role
from tests.browser.conftest import PHONE
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

LONG_EMAIL = "margaret.hamilton-apollo.guidance@engineering.contoso.test"
# WCAG 1.4.11: the edge that shows a control's state needs 3:1 against what surrounds it.
CONTRAST = """([a, b]) => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => rgb(c).map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}"""
# How many lines each part of an address takes: 1 each means it broke only at the @.
LINES_OF_PARTS = """el => {
  const text = [...el.childNodes].filter(n => n.nodeType === 3);
  return text.map(node => { const r = document.createRange(); r.selectNodeContents(node);
    return new Set([...r.getClientRects()].map(rect => Math.round(rect.top))).size; });
}"""


@pytest.fixture
def long_owner(full_admin, token_of):
    owner = UserFactory(tenant=full_admin.tenant, role=Role.SECURITY_OPERATOR, email=LONG_EMAIL)
    token_of(owner, "Nightly vulnerability export to the data lake (EU region)", 10, 2)
    return owner


def test_generated_by_addresses_do_not_break_mid_word_at_1280(page_as, full_admin, long_owner):
    page = page_as(full_admin)
    owner = page.locator(".owner", has_text="margaret.hamilton")
    assert owner.evaluate(LINES_OF_PARTS) == [1, 1]


def test_the_audit_log_fits_1280_with_exact_times_and_token_links(
    page_as, full_admin, long_owner, tenant, snap, axe_check
):
    audit_record(
        tenant=tenant,
        action="user.role_changed",
        actor=full_admin,
        subject=long_owner,
        detail="Security reader → Security operator, mapped from the SCIM attribute "
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        client_ip="2001:db8:85a3::8a2e:370:7334",
    )
    page = page_as(full_admin)
    page.goto("/settings/audit-log/")
    # The filters share one row: "To" sits beside "From".
    since, until = page.get_by_label("From"), page.get_by_label("To", exact=True)
    assert since.bounding_box()["y"] == until.bounding_box()["y"]
    # The table fits its box, so no column is cut off (it would scroll visibly if not).
    region = page.get_by_role("region", name="Audit events")
    assert region.evaluate("el => el.scrollWidth <= el.clientWidth")
    expect(page.locator("tbody tr").first.locator(".exact-time")).to_be_visible()
    expect(page.get_by_role("link", name=long_owner.tokens.get().name)).to_be_visible()
    region.focus()
    expect(region).to_be_focused()
    snap(page, "audit-log-1280")
    axe_check(page, "audit-log-1280")


def test_the_audit_log_on_a_phone_in_dark_mode(page_as, full_admin, long_owner, snap, axe_check):
    page = page_as(full_admin, viewport=PHONE, color_scheme="dark")
    page.goto("/settings/audit-log/")
    expect(page.locator(".exact-time").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.evaluate("document.querySelector('.table-wrap').scrollIntoView()")
    snap(page, "audit-log-375-dark")
    axe_check(page, "audit-log-375-dark")


def test_identity_settings_wrap_their_urls_on_a_phone(page_as, full_admin, snap):
    page = page_as(full_admin, viewport=PHONE)
    page.goto("/settings/identity/")
    expect(page.get_by_role("heading", name="Identity", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    snap(page, "identity-375")


def test_dark_mode_shows_the_selected_filter_and_checkboxes_clearly(page_as, full_admin):
    page = page_as(full_admin, color_scheme="dark")
    selected = page.locator(".filter a[aria-current]")
    ring, around = selected.evaluate(
        "el => [getComputedStyle(el).boxShadow, getComputedStyle(el.closest('ul')).backgroundColor]"
    )
    assert "inset" in ring
    assert page.evaluate(CONTRAST, [ring, around]) >= 3
    page.goto("/settings/identity/")
    checkbox = page.get_by_role("checkbox").first
    edge, card = checkbox.evaluate(
        "el => [getComputedStyle(el).borderTopColor,"
        " getComputedStyle(el.closest('.card')).backgroundColor]"
    )
    assert page.evaluate(CONTRAST, [edge, card]) >= 3
