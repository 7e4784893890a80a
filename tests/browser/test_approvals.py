"""Issue 29, items 1-2 in a browser: an operator requests a token, a full admin approves it
narrower, the operator reveals it once (a reload does not show it again) and it works on the
API; a denial reaches the requester with its note. Each page is checked with axe and for
layout problems at phone and desktop widths."""

import pytest
from playwright.sync_api import expect

from approvals.models import TokenRequest
from approvals.services import token_request_create
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.layout import layout_problems

pytestmark = pytest.mark.browser

ME = "/api/v1/me/"
REQUESTS_URL = "/settings/security-extensions/api-tokens/requests/"


@pytest.fixture
def approving(tenant):
    tenant.token_approval_required = True
    tenant.save()
    return tenant


def request_through_the_dialog(page, name, reason):
    page.get_by_role("button", name="Request a token").click()
    dialog = page.get_by_role("dialog", name="Request a token")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Token name").fill(name)
    dialog.get_by_label("Reason").fill(reason)
    dialog.get_by_role("button", name="Send request").click()
    expect(page.locator("#token-requests")).to_contain_text(name)


def test_request_approve_narrower_reveal_once_and_the_token_works(
    approving, page_as, operator, full_admin, api_get, axe_check, snap
):
    page = page_as(operator)
    request_through_the_dialog(page, "SOAR playbooks", "Playbooks read alerts nightly.")
    expect(page.locator("#token-requests")).to_contain_text("Waiting for a full admin")

    admin = page_as(full_admin)
    admin.get_by_role("link", name="Requests").click()
    item = admin.locator(".request-item").filter(has_text="SOAR playbooks")
    expect(item).to_contain_text("Playbooks read alerts nightly.")
    item.get_by_label("Read only").check()
    item.get_by_role("button", name="Approve SOAR playbooks").click()
    expect(admin.get_by_text("narrower than asked").first).to_be_visible()

    page.reload()
    mine = page.locator("#token-requests")
    expect(mine).to_contain_text("Read only, not read and write.")
    mine.get_by_role("button", name="Reveal SOAR playbooks").click()
    reveal = page.get_by_role("dialog", name="Copy your new token")
    secret = reveal.get_by_label("Token", exact=True).input_value()
    assert secret.startswith("atp_")
    snap(page, "request-revealed-1280")

    page.reload()  # the reveal was a POST: a reload is a redirect to the list, no secret
    expect(page.get_by_role("dialog", name="Copy your new token")).to_have_count(0)
    assert secret not in page.content()
    expect(page.locator("#token-requests")).to_contain_text("Revealed")

    status, body = api_get(ME, secret)
    assert status == 200 and body["token"]["access"] == "read_only"
    assert body["user"]["email"] == operator.email


def test_a_denial_reaches_the_requester_with_the_note(approving, page_as, operator, full_admin):
    token_request_create(
        requester=operator,
        name="Wide export",
        reason="Everything, everywhere.",
        access="read_write",
        allowed_networks=[],
        expires_at=None,
    )
    admin = page_as(full_admin)
    admin.goto(REQUESTS_URL)
    item = admin.locator(".request-item").filter(has_text="Wide export")
    item.get_by_label("Note to the requester").last.fill("Use the shared export account.")
    item.get_by_role("button", name="Deny… Wide export").click()
    expect(admin.get_by_role("heading", name="Deny this token request?")).to_be_visible()
    admin.get_by_role("button", name="Deny request").click()
    expect(admin.get_by_text("Denied “Wide export”")).to_be_visible()
    assert TokenRequest.objects.get().status == "denied"

    page = page_as(operator)
    mine = page.locator("#token-requests")
    expect(mine).to_contain_text("Denied by admin@contoso.test")
    expect(mine).to_contain_text("Use the shared export account.")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_the_request_pages_pass_axe_and_have_no_layout_problems(
    approving, page_as, operator, reader, full_admin, axe_check, snap, viewport
):
    width = viewport["width"]
    for requester, name in ((operator, "Quarterly report script"), (reader, "Dashboards")):
        token_request_create(
            requester=requester,
            name=name,
            reason="Reads the quarter's findings for the board report.",
            access="read_write",
            allowed_networks=["10.20.0.0/16", "2001:db8:1234::/48"],
            expires_at=None,
        )
    page = page_as(operator, viewport=viewport)
    page.get_by_role("button", name="Request a token").click()
    expect(page.get_by_role("dialog", name="Request a token")).to_be_visible()
    assert layout_problems(page, f"request-dialog-{width}") == []
    axe_check(page, f"request-dialog-{width}")
    snap(page, f"request-dialog-{width}")

    page.keyboard.press("Escape")
    page.locator("#token-requests").scroll_into_view_if_needed()
    assert layout_problems(page, f"my-requests-{width}") == []
    axe_check(page, f"my-requests-{width}")
    snap(page, f"my-requests-{width}")

    admin = page_as(full_admin, viewport=viewport)
    admin.goto(REQUESTS_URL)
    expect(admin.get_by_role("heading", name="Token requests", level=1)).to_be_visible()
    assert layout_problems(admin, f"requests-list-{width}") == []
    axe_check(admin, f"requests-list-{width}")
    snap(admin, f"requests-list-{width}")
