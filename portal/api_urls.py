from django.urls import path

from approvals import api as approvals_api
from audit import api as audit_api
from identity import api as identity_api
from integrations import api as integrations_api
from tokens import api

from . import openapi

urlpatterns = [
    path("v1/me/", api.me, name="api-me"),
    path("v1/tokens/", api.token_list, name="api-tokens"),
    path("v1/tokens/report-leak/", api.report_leak, name="api-report-leak"),
    path("v1/tokens/<uuid:token_id>/", api.token_detail, name="api-token"),
    path("v1/tokens/<uuid:token_id>/rotate/", api.token_rotation, name="api-token-rotate"),
    path("v1/tokens/<uuid:token_id>/suspend/", api.token_suspension, name="api-token-suspend"),
    path("v1/tokens/<uuid:token_id>/resume/", api.token_resumption, name="api-token-resume"),
    path("v1/service-accounts/", identity_api.service_account_list, name="api-service-accounts"),
    path(
        "v1/service-accounts/<str:name>/tokens/",
        api.service_account_tokens,
        name="api-service-account-tokens",
    ),
    path("v1/token-requests/", approvals_api.token_requests, name="api-token-requests"),
    path(
        "v1/token-requests/<uuid:request_id>/approve/",
        approvals_api.token_request_approve,
        name="api-token-request-approve",
    ),
    path(
        "v1/token-requests/<uuid:request_id>/deny/",
        approvals_api.token_request_deny,
        name="api-token-request-deny",
    ),
    path("v1/audit/", audit_api.audit_list, name="api-audit"),
    path("v1/siem/events/", integrations_api.siem_events, name="api-siem-events"),
    path("v1/siem/heartbeat/", integrations_api.siem_heartbeat, name="api-siem-heartbeat"),
    path(
        "v1/log-collectors/heartbeat/",
        integrations_api.log_collector_heartbeat,
        name="api-log-collector-heartbeat",
    ),
    path("v1/openapi.json", openapi.openapi_json, name="api-openapi"),
]
