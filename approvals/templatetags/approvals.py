"""The approvals parts of the tokens page: the tokens app renders it and stands below this
one, so its template asks for them here rather than its view importing them."""

from django import template

from tenants.permissions import may_decide_token_requests, must_request_tokens

from ..forms import request_form
from ..models import TokenRequest

register = template.Library()

SHOWN_REQUESTS = 20


@register.simple_tag
def token_requests_of(user):
    """The user's latest requests, newest first (any status), for its list on the page."""
    if not user.is_authenticated:
        return []
    return list(
        TokenRequest.objects.filter(requester=user).order_by("-created_at")[:SHOWN_REQUESTS]
    )


@register.simple_tag
def pending_token_requests(user):
    """How many of the tenant's requests wait for a decision, for those who decide, where
    the policy asks for approval or some still wait; else None (nothing to show)."""
    if not may_decide_token_requests(user):
        return None
    count = TokenRequest.objects.visible_to(user).pending().count()
    return count if count or user.tenant.token_approval_required else None


@register.simple_tag(takes_context=True)
def token_request_form(context):
    """The Request a token dialog's form: the one sent back with its errors, else a new one,
    for those who must request."""
    if context.get("request_form") is not None:
        return context["request_form"]
    request = context["request"]
    if not must_request_tokens(request.user):
        return None
    return request_form(request)


@register.filter
def shown_status(token_request):
    return token_request.shown
