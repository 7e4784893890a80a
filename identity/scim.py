"""SCIM 2.0 at /scim/v2/ (RFC 7643/7644): scim2-server's protocol over the tenant's users.

Authentication is a `provisioning` token in `Authorization: Bearer <token>`, and nothing else:
tokens.middleware identifies the caller here as under /api/ and reads no session, so no CSRF
applies; the endpoint declares the kind it takes (web.auth.Access). The token's tenant scopes
every operation (identity.scim_storage). Every answer, errors included, is a SCIM document in
`application/scim+json`.
"""

import json
from http import HTTPStatus

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    ForbiddenException,
    NotFoundException,
    Patch,
    PayloadTooLargeException,
    ResourceType,
    SCIMException,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
)
from scim2_server.applications.base import BaseApplication
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import SCIM_MEDIA_TYPE, ScimResponse
from scim2_server.service import ScimService

from tokens.models import TokenKind
from web.auth import Access, declare
from web.http import client_ip

from .scim_storage import Caller, ScimPortalUser, TenantUserStorage, UserResource

MAX_RESULTS = 200

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=True),
    etag=ETag(supported=True),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Provisioning token",
            description="A provisioning token from Settings › Identity, sent as "
            "'Authorization: Bearer <token>'.",
            primary=True,
        )
    ],
)
PROVIDER = ScimProvider(
    models=[ScimPortalUser, EnterpriseUser],
    resource_types=[ResourceType.from_resource(UserResource)],
    config=CONFIG,
)


class TooManyFailures(SCIMException):
    status = 429
    _default_detail = "Too many failed authentications from this address; try again later."


class PortalScimApplication(BaseApplication):
    """scim2-server's application steps, fed by Django instead of WSGI."""

    def finalize_response(self, request, response):
        response = super().finalize_response(request, response)
        response.headers["Cache-Control"] = "no-store"  # personal data
        return response


APPLICATION = PortalScimApplication(PROVIDER, ScimService(PROVIDER))


# A provisioning token is the tenant's, not the admin's who generated it: it goes on when that
# admin is demoted or leaves (else the provider could deprovision no one after the admin who set
# it up). Its privileges are its kind's: SCIM users of its tenant only. API, SIEM and
# log-collector tokens are real, but not for here: 403.
PROVISIONING = Access(kinds=(TokenKind.PROVISIONING,))


def authenticate(request):
    """The provisioning token of the request, or raise a SCIM 401/403 (429 past the failure
    limit)."""
    refusal = PROVISIONING.refusal(request)
    if refusal is None:
        return request.auth
    if refusal.status == HTTPStatus.TOO_MANY_REQUESTS:
        raise TooManyFailures
    # SCIM clients send Bearer tokens; the API's wording suggests its own scheme.
    detail = refusal.detail.replace("Token <token>", "Bearer <provisioning token>")
    if refusal.status == HTTPStatus.FORBIDDEN:
        raise ForbiddenException(detail=detail)
    raise UnauthorizedException(detail=detail)


def scim_request_of(request, path):
    return ScimRequest(
        method=request.method,
        base_url=request.build_absolute_uri("/scim/v2"),
        path=APPLICATION.split_path(path or "/"),
        query=request.GET.dict(),
        headers=dict(request.headers),
        body=request.body,
    )


def django_response(response: ScimResponse):
    body = b"" if response.body is None else json.dumps(response.body).encode()
    reply = HttpResponse(body, status=response.status.value, content_type=SCIM_MEDIA_TYPE)
    for name, value in response.headers.items():
        reply[name] = value
    return reply


def serve(request, path):
    try:
        scim_request = scim_request_of(request, path)
    except RequestDataTooBig:
        error = PayloadTooLargeException(detail="The request body is too large.")
        return django_response(APPLICATION.service.error_response(error))
    try:
        storage = TenantUserStorage(tenant=None, caller=None)
        if APPLICATION.needs_auth(scim_request):
            token = authenticate(request)
            scim_request.subject = token
            storage = TenantUserStorage(
                tenant=token.tenant, caller=Caller(token=token, client_ip=client_ip(request))
            )
        response = ScimHandler(APPLICATION.service, storage).handle(scim_request)
    except Exception as exception:  # noqa: BLE001 - every failure answers as a SCIM error
        response = APPLICATION.handle_exception(scim_request, exception)
    return django_response(APPLICATION.finalize_response(scim_request, response))


@csrf_exempt
@login_not_required
@declare(PROVISIONING)
def scim_endpoint(request, path=None):
    response = serve(request, path)
    if response.status_code == HTTPStatus.UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    return response


@csrf_exempt
@login_not_required
@declare(Access(public=True))
def scim_elsewhere(request, rest=""):
    """Any other path under /scim/: a SCIM 404, not the portal's HTML page."""
    error = NotFoundException(detail="SCIM 2.0 is served under /scim/v2.")
    return django_response(APPLICATION.service.error_response(error))
