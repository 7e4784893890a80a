"""Test settings: the production settings with a fixed, hermetic environment. The suite runs
on them (pyproject.toml), and bench.settings adds the other token schemes to them."""

import os

os.environ.update(
    {
        "DEBUG": "false",
        "SECRET_KEY": "test-only-key-" + "k" * 50,
        "PORTAL_DOMAIN": "portal.localhost",
        "PORTAL_SCHEME": "http",
        "PORTAL_PORT": "",
    }
)

# E-mail stays in memory (django.core.mail.outbox), whatever a developer's .env says, unless
# a test points EMAIL_URL at an SMTP server of its own (tests/test_notifications_smtp.py).
os.environ.setdefault("EMAIL_URL", "memorymail://")

from portal.settings import *  # noqa: E402,F403

# Manifest storage needs collectstatic; tests serve the source files instead.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Password hashing is deliberately slow; tests sign in hundreds of times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files straight from the source folders, as `make run` serves collected ones.
WHITENOISE_USE_FINDERS = True
# Exercise the verified-token cache on every database the suite runs on (the bench can turn
# it off with TOKEN_CACHE=off to measure the uncached path).
TOKEN_CACHE = os.environ.get("TOKEN_CACHE", "on")
STATIC_ROOT = None  # nothing is collected in tests; whitenoise would warn about the folder
# The tests' OpenID providers listen on http://127.0.0.1; tests of the production rule turn
# this off (tests/test_sso_outbound.py).
IDENTITY_PROVIDER_PRIVATE_NETWORKS_ALLOWED = True
