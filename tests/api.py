"""Helpers for API tests: a client that sends a token and never a session cookie."""

from django.test import Client


def api_client(secret=None, host="portal.localhost", scheme="Token"):
    headers = {"HTTP_HOST": host}
    if secret is not None:
        headers["HTTP_AUTHORIZATION"] = f"{scheme} {secret}"
    return Client(**headers)
