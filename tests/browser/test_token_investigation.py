"""A full admin looks into tokens: a refused token keeps its status, flagged beside it, the
Revoked filter lists revoked tokens with who revoked them and when, and a revoked token's page is
read-only."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_refused_and_revoked_tokens_for_a_full_admin(
    page_as, full_admin, tokens_of_every_kind, axe_check, snap
):
    page = page_as(full_admin)
    filters = page.get_by_role("navigation", name="Status")
    filters.get_by_role("link", name="Owner deprovisioned").click()
    legacy = page.get_by_role("row").filter(has_text="Legacy sync job")
    expect(legacy.get_by_text("Active", exact=True)).to_be_visible()
    expect(legacy.get_by_text("Owner deprovisioned · calls refused", exact=True)).to_be_visible()
    expect(legacy.get_by_text("counted as")).to_have_count(0)
    axe_check(page, "tokens-refused-1280")
    snap(page, "tokens-refused-1280")
    filters.get_by_role("link", name="All").click()

    page.get_by_role("button", name="Revoke Terraform provider").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status")).to_contain_text("was revoked")

    page.get_by_role("navigation", name="Status").get_by_role("link", name="Revoked").click()
    row = page.get_by_role("row").filter(has_text="Terraform provider")
    expect(row).to_contain_text("by admin@contoso.test")
    expect(row.get_by_role("button")).to_have_count(0)
    axe_check(page, "tokens-revoked-1280")
    snap(page, "tokens-revoked-1280")

    row.get_by_role("link", name="Terraform provider").click()
    expect(page.get_by_role("heading", name="Terraform provider", level=1)).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("by admin@contoso.test")
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    axe_check(page, "token-revoked-detail-1280")
    snap(page, "token-revoked-detail-1280")
