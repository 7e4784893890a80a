"""OpenID Connect sign-in for one tenant, with Authlib's Django client.

Authlib does the protocol: the authorization code flow with PKCE (S256), state and nonce kept
in the session, the token request, and the ID token's signature and claims. This module adds
what Authlib leaves to the application:
- the discovery document and keys come from identity.discovery (checked, cached), and every
  call to the provider goes through identity.outbound (public addresses, no redirects, short
  timeouts): the portal never calls, or sends the client secret to, anything else;
- only the endpoints the portal needs are taken from the discovery document, so the document
  cannot change the client's own settings (scope, PKCE, timeouts);
- the ID token's audience must be our client id (Authlib checks it only through azp);
- the e-mail comes from the ID token or, for the same subject, from the UserInfo endpoint,
  and counts only when the provider says it is verified with a JSON true.
"""

import logging

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import JoseError

from . import discovery, outbound
from .outbound import ProviderUnavailable

logger = logging.getLogger(__name__)

SCOPE = "openid email"
# One message for every way the provider can fail (unreachable, hanging, an answer of the
# wrong shape, an endpoint elsewhere...): the page must not tell a full admin who aims the
# issuer at an internal address what answers there. The log has the cause.
PROVIDER_FAILED = (
    "The identity provider could not be used right now. Try again in a few minutes; if this "
    "goes on, ask a full admin to check Settings › Identity."
)
# Shapes of a provider answer Authlib does not expect (a JSON list for a token, no ID token,
# an ID token that is not a string...) surface as these.
SHAPE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RuntimeError)


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in; the message is safe to show."""

    def __init__(self, message, *, status=403):
        super().__init__(message)
        self.status = status


class ProviderSession(OAuth2Session):
    """Authlib's session for the token and UserInfo requests, calling only as outbound allows."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        outbound.harden(self)


class ProviderApp(DjangoOAuth2App):
    client_cls = ProviderSession

    def load_server_metadata(self):
        return self.server_metadata  # set from identity.discovery by client_for

    def fetch_jwk_set(self, force=False):
        return discovery.signing_keys(self.server_metadata["jwks_uri"], refresh=force)


def client_for(identity):
    """An Authlib client for the tenant's configuration, made per request so that a change
    on Settings › Identity applies at once."""
    metadata = discovery.provider_metadata(identity.issuer)
    client = OAuth().register(
        # The name keys the state kept in the session: a flow started for one tenant can
        # only finish for that tenant.
        name=f"tenant-{identity.tenant_id}",
        client_cls=ProviderApp,
        client_id=identity.client_id,
        client_secret=identity.client_secret,
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )
    client.server_metadata = dict(metadata)
    return client


def begin(request, identity, redirect_uri):
    """The redirect to the provider's authorization endpoint."""
    try:
        return client_for(identity).authorize_redirect(request, redirect_uri)
    except ProviderUnavailable as error:
        raise _provider_failed(identity, error) from None


def complete(request, identity):
    """The verified e-mail of the person the provider signed in.

    Raises SignInRefused for an error from the provider, a forged or replayed callback
    (state), an ID token that fails any check (signature, issuer, audience, nonce, expiry), or
    a provider that cannot be used.
    """
    claims_options = {
        "iss": {"essential": True, "value": identity.issuer},
        "aud": {"essential": True, "value": identity.client_id},
    }
    try:
        client = client_for(identity)
        token = client.authorize_access_token(request, claims_options=claims_options)
        claims = token.get("userinfo")
        if not claims:
            raise ProviderUnavailable("the token answer has no ID token")
        return _email(client, token, claims)
    except OAuthError as error:
        logger.info("SSO refused for tenant %s: %s", identity.tenant_id, error.error)
        if error.error == "access_denied":
            raise SignInRefused("Sign-in was cancelled at the identity provider.") from None
        raise SignInRefused(
            "The identity provider's answer could not be used. Start the sign-in again."
        ) from None
    except JoseError as error:
        logger.warning("SSO ID token refused for tenant %s: %s", identity.tenant_id, error)
        raise SignInRefused(
            "The identity provider's ID token failed verification, so nobody was signed in."
        ) from None
    except (ProviderUnavailable, requests.RequestException, *SHAPE_ERRORS) as error:
        raise _provider_failed(identity, error) from None


def _provider_failed(identity, error):
    logger.warning(
        "SSO provider unusable for tenant %s (%s): %s",
        identity.tenant_id,
        type(error).__name__,
        str(error)[:500],
    )
    return SignInRefused(PROVIDER_FAILED, status=502)


def _email(client, token, claims):
    userinfo_endpoint = client.server_metadata.get("userinfo_endpoint")
    if ("email" not in claims or "email_verified" not in claims) and userinfo_endpoint:
        response = client.get(userinfo_endpoint, token=token)
        response.raise_for_status()
        userinfo = response.json()
        if not isinstance(userinfo, dict):
            raise ProviderUnavailable("the UserInfo answer is not a JSON object")
        # OpenID Connect Core §5.3.2: UserInfo must be about the ID token's subject.
        if userinfo.get("sub") != claims.get("sub"):
            raise SignInRefused("The identity provider's user information is inconsistent.")
        claims = {**claims, **userinfo}
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused(
            "The identity provider did not share an e-mail address. Ask a full admin to "
            "allow the 'email' scope for the portal."
        )
    # An address the provider has not verified could be anyone's. Only JSON true says it is
    # verified: "false" is a non-empty string, and a missing claim says nothing.
    if claims.get("email_verified") is not True:
        raise SignInRefused("The identity provider has not verified this e-mail address.")
    return email.strip().lower()
