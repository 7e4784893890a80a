"""OpenID Connect sign-in for one tenant, with Authlib's Django client.

Authlib does the protocol: discovery, the authorization code flow with PKCE (S256), state
and nonce kept in the session, the token request, and the ID token's signature (the
provider's published keys) and claims. This module only adds what Authlib leaves to the
application: the issuer of the discovery document must be the configured one, the ID token's
audience must be our client id (Authlib checks it only through azp), and the e-mail comes
from the ID token or, when the provider keeps it out of the ID token, from the UserInfo
endpoint for the same subject.
"""

import logging
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import OAuth
from joserfc.errors import JoseError

logger = logging.getLogger(__name__)

SCOPE = "openid email"
HTTP_TIMEOUT = 10  # seconds for each call to the provider


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in; the message is safe to show."""


def discovery_url(issuer):
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def client_for(identity):
    """An Authlib client for the tenant's configuration, made per request so that a change
    on Settings › Identity applies at once."""
    oauth = OAuth()
    return oauth.register(
        # The name keys the state kept in the session: a flow started for one tenant can
        # only finish for that tenant.
        name=f"tenant-{identity.tenant_id}",
        client_id=identity.client_id,
        client_secret=identity.client_secret,
        server_metadata_url=discovery_url(identity.issuer),
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT,
        },
    )


def begin(request, identity, redirect_uri):
    """The redirect to the provider's authorization endpoint."""
    client = client_for(identity)
    try:
        _check_issuer(client, identity)
        return client.authorize_redirect(request, redirect_uri)
    except requests.RequestException as error:
        logger.warning("SSO discovery failed for tenant %s: %s", identity.tenant_id, error)
        raise SignInRefused(
            "The identity provider could not be reached. Try again later."
        ) from None


def complete(request, identity):
    """The verified e-mail of the person the provider signed in.

    Raises SignInRefused for an error from the provider, a forged or replayed callback
    (state), or an ID token that fails any check (signature, issuer, audience, nonce, expiry).
    """
    client = client_for(identity)
    claims_options = {
        "iss": {"essential": True, "value": identity.issuer},
        "aud": {"essential": True, "value": identity.client_id},
    }
    try:
        _check_issuer(client, identity)
        token = client.authorize_access_token(request, claims_options=claims_options)
        claims = token.get("userinfo")
        if not claims:
            raise SignInRefused("The identity provider sent no ID token.")
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
    except requests.RequestException as error:
        logger.warning("SSO call failed for tenant %s: %s", identity.tenant_id, error)
        raise SignInRefused(
            "The identity provider could not be reached. Try again later."
        ) from None
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        # A provider answer of the wrong shape (no jwks_uri, a body that is not JSON...).
        logger.warning("SSO answer unusable for tenant %s: %r", identity.tenant_id, error)
        raise SignInRefused(
            "The identity provider's answer could not be used. Start the sign-in again."
        ) from None


def _check_issuer(client, identity):
    # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for,
    # else an attacker-controlled document could point the flow at other endpoints.
    metadata = client.load_server_metadata()
    if metadata.get("issuer") != identity.issuer:
        logger.warning(
            "SSO discovery for tenant %s names issuer %r, not %r",
            identity.tenant_id,
            metadata.get("issuer"),
            identity.issuer,
        )
        raise SignInRefused(
            "The identity provider's configuration names another issuer; ask a full admin "
            "to check Settings › Identity."
        )


def _email(client, token, claims):
    if "email" not in claims:
        userinfo = client.userinfo(token=token)
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
    # An address the provider has not verified could be anyone's.
    if claims.get("email_verified") is False:
        raise SignInRefused("The identity provider has not verified this e-mail address.")
    return email.strip().lower()


def is_loopback_http(url):
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
