"""Error pages in the browser: the portal's layout and navigation, a sentence, a way back."""

import pytest
from django.core.exceptions import PermissionDenied
from playwright.sync_api import expect

from portal import views

pytestmark = pytest.mark.browser


def _shows_error_page(page, status, heading, sentence):
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    expect(page.get_by_text(f"Error {status}")).to_be_visible()
    expect(page.get_by_text(sentence)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_404_for_a_page_of_full_admins_keeps_navigation_and_leads_back(
    page_as, reader, axe_check, snap
):
    page = page_as(reader)
    response = page.goto("/settings/audit-log/")
    assert response.status == 404
    _shows_error_page(
        page, 404, "Page not found", "This page does not exist, or is for full admins of Contoso."
    )
    axe_check(page, "error-404-1280")
    snap(page, "error-404-1280")
    page.get_by_role("link", name="Back to API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()


def test_403_says_the_page_is_for_full_admins(page_as, reader, axe_check, snap, monkeypatch):
    def refuse():
        raise PermissionDenied

    monkeypatch.setattr(views, "product_version", refuse)
    page = page_as(reader)
    assert page.goto("/about/").status == 403
    _shows_error_page(page, 403, "Not allowed", "This page is for full admins of Contoso.")
    axe_check(page, "error-403-1280")
    snap(page, "error-403-1280")


def test_500_keeps_the_layout(page_as, full_admin, axe_check, snap, monkeypatch):
    def broken():
        raise ValueError("a bug")

    monkeypatch.setattr(views, "product_version", broken)
    page = page_as(full_admin)
    assert page.goto("/about/").status == 500
    _shows_error_page(page, 500, "Something went wrong", "The portal failed to answer")
    axe_check(page, "error-500-1280")
    snap(page, "error-500-1280")
