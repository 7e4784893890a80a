"""tenants.permissions for templates, under the same names: {% if user|may_see_audit_log %},
{% if user|may_rotate_token:token %}. Templates hide what a user may not do; the views refuse it."""

from django import template

from tenants import permissions

register = template.Library()

for question in (
    permissions.may_write,
    permissions.may_issue_writable_tokens,
    permissions.may_narrow_token,
    permissions.may_see_audit_log,
    permissions.may_set_token_policy,
    permissions.may_manage_identity,
    permissions.may_manage_integrations,
    permissions.may_manage_service_accounts,
    permissions.may_see_api_usage,
    permissions.may_review_new_networks,
    permissions.may_rotate_token,
    permissions.may_suspend_token,
    permissions.may_resume_token,
    permissions.may_see_token,
    permissions.may_see_revoked_tokens,
    permissions.may_generate_tokens,
    permissions.must_request_tokens,
    permissions.token_creation_refusal,
    permissions.may_decide_token_requests,
):
    register.filter(question.__name__, question)
