"""Settings for the API-token portal, read from the environment (12-factor).

Every variable of CONTRACT §1 is read here and nowhere else. Bad values fail at start-up
with django-environ's error instead of surfacing later as odd behaviour.
"""

import math
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win


def env_flag(name, default):
    """A boolean variable that refuses typos instead of reading them as false."""
    value = env.str(name, default=str(default)).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_positive(name, default, cast):
    """A number above zero, or a one-line configuration error naming the variable."""
    raw = env.str(name, default=str(default)).strip()
    try:
        value = cast(raw)
    except ValueError:
        value = 0
    if not (value > 0 and math.isfinite(value)):
        raise ImproperlyConfigured(f"{name} must be a number above zero, not {raw!r}.")
    return value


DEBUG = env_flag("DEBUG", default=False)

if DEBUG:
    # Throw-away key so a developer can start without configuration; never used in production
    # because DEBUG is off unless asked for.
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured("Set the SECRET_KEY environment variable (DEBUG is off).")

PORTAL_DOMAIN = env.str("PORTAL_DOMAIN", default="portal.localhost").lower().strip(".")
PORTAL_SCHEME = env.str("PORTAL_SCHEME", default="http" if DEBUG else "https")
if PORTAL_SCHEME not in ("http", "https"):
    raise ImproperlyConfigured("PORTAL_SCHEME must be http or https.")
PORTAL_PORT = env.str("PORTAL_PORT", default="")
if PORTAL_PORT and not (PORTAL_PORT.isdigit() and 0 < int(PORTAL_PORT) < 65536):
    raise ImproperlyConfigured("PORTAL_PORT must be a TCP port number (1-65535) or empty.")

# Hosts that are not a tenant's custom host: requests there take the tenant from the user.
PORTAL_GENERIC_HOSTS = [PORTAL_DOMAIN, "localhost", "127.0.0.1"]
ALLOWED_HOSTS = [PORTAL_DOMAIN, f".{PORTAL_DOMAIN}", "localhost", "127.0.0.1"]
ALLOWED_HOSTS += env.list("ALLOWED_HOSTS", default=[])

# Hosts where Django admin (/admin/) answers; elsewhere it is a 404. Admin is for platform
# operators, who have no tenant and so cannot sign in on a tenant's custom host anyway
# (CONTRACT §2): by default it answers on the generic hosts only. An operator may name other
# hosts (an internal name, say) or none at all (an empty value turns admin off).
ADMIN_HOSTS = [
    h.strip().lower().rstrip(".") for h in env.list("ADMIN_HOSTS", default=PORTAL_GENERIC_HOSTS)
]
for _host in ADMIN_HOSTS:
    if _host.endswith(f".{PORTAL_DOMAIN}"):
        raise ImproperlyConfigured(
            f"ADMIN_HOSTS cannot name {_host}: sub-domains of PORTAL_DOMAIN are tenants' hosts."
        )
    if _host not in ALLOWED_HOSTS:
        ALLOWED_HOSTS.append(_host)

INSTALLED_APPS = [
    "web",
    "portal.apps.PortalAdminConfig",  # django.contrib.admin with the portal's admin site
    # Before django.contrib.auth, so that its changepassword (an e-mail and --tenant: e-mails
    # are unique per tenant only) replaces Django's, which would stop on a shared e-mail.
    "tenants",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "portal",
    "tokens",
    "approvals",
    "audit",
    "integrations",
    "identity",
    "notifications",
    # Deploy-time and post-deploy migrations (CONTRACT §14): `migrate --pre-deploy` applies
    # only what the previous release can keep serving on; plain `migrate` the rest, once no
    # host runs it (docs/operations.md, "Deploy a release").
    "syzygy",
]

MIDDLEWARE = [
    # First: load balancers probe /healthz by IP address over plain HTTP, which the HTTPS
    # redirect and the ALLOWED_HOSTS check below would refuse.
    "web.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "web.middleware.SecurityHeadersMiddleware",
    "tenants.middleware.TenantHostMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Sees every answer below it, the token middleware's and the tenant redirects included.
    "web.middleware.PrivateResponsesMiddleware",
    # After AuthenticationMiddleware so that under /api/ the token's owner replaces any
    # session user: the API never accepts a session.
    "tokens.middleware.ApiTokenMiddleware",
    "tenants.middleware.TenantSessionMiddleware",
    # Django's LoginRequiredMiddleware, which also tells a form sent after its session ended
    # that it was not done.
    "web.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers share one file: WAL lets readers run beside the writer, the busy
    # timeout waits for the lock instead of failing, and IMMEDIATE takes the write lock at BEGIN
    # so two transactions never deadlock upgrading from read to write ("database is locked").
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
else:
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with the cache invalidation's mark taken just before each commit.
        _db["ENGINE"] = "web.postgresql"
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    # A database host that drops packets answers 503 after this long, not after the kernel's
    # TCP time-outs (minutes).
    _db.setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
    # Django turns psycopg's statement preparation off (prepare_threshold None), which also
    # ignores an explicit prepare=True. A threshold no statement reaches prepares only what
    # asks for it: the token lookup of a cache miss (tokens.auth), planned once per connection.
    _db["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)

# How DATABASE_URL reaches PostgreSQL: "session" (directly, or a pooler in session mode) or
# "transaction" (PgBouncer in transaction mode, which hands each transaction to any server
# connection: no prepared statement, server-side cursor or LISTEN survives between two).
DATABASE_POOL_MODE = env.str("DATABASE_POOL_MODE", default="session").strip().lower()
if DATABASE_POOL_MODE not in ("session", "transaction"):
    raise ImproperlyConfigured("DATABASE_POOL_MODE must be session or transaction.")
# The invalidation listener's own connection (web.invalidation): LISTEN needs a session, so
# behind a transaction-mode pooler it must reach PostgreSQL directly. Empty: DATABASE_URL.
INVALIDATION_DATABASE_URL = env.str("INVALIDATION_DATABASE_URL", default="")
if DATABASE_POOL_MODE == "transaction":
    if _db["ENGINE"] != "web.postgresql":
        raise ImproperlyConfigured("DATABASE_POOL_MODE=transaction is for PostgreSQL only.")
    if not INVALIDATION_DATABASE_URL:
        raise ImproperlyConfigured(
            "DATABASE_POOL_MODE=transaction needs INVALIDATION_DATABASE_URL: the cache "
            "invalidation listener needs a session of its own, directly to PostgreSQL."
        )
    _db["OPTIONS"]["prepare_threshold"] = None
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
if INVALIDATION_DATABASE_URL and not INVALIDATION_DATABASE_URL.startswith(
    ("postgres://", "postgresql://", "pgsql://")
):
    raise ImproperlyConfigured("INVALIDATION_DATABASE_URL must be a postgres:// URL.")

# Seconds a migration on PostgreSQL waits for a table lock, and runs any one statement, before
# it fails (web.migrating). A schema change queued behind a long transaction holds every later
# query on that table behind it: failing fast and retrying is cheaper than stalling the portal.
MIGRATION_LOCK_TIMEOUT = env_positive("MIGRATION_LOCK_TIMEOUT", 3, float)
MIGRATION_STATEMENT_TIMEOUT = env_positive("MIGRATION_STATEMENT_TIMEOUT", 60, float)

# Seconds a Redis connect or reply may take: a dead or hung Redis then costs a request a
# quarter second before rate limits fall back to the database (web.ratelimit), never a
# stalled worker.
REDIS_TIMEOUT = 0.25
REDIS_SCHEMES = ("redis", "rediss", "rediscache")


def cache_from_url(url):
    """CACHE_URL as a Django cache. Errors name the variable but never echo the URL: it may
    hold a Redis password."""
    scheme, colon_slashes, _ = url.partition("://")
    scheme = scheme.lower() if colon_slashes else "no scheme"
    if scheme in REDIS_SCHEMES:
        return redis_cache(url, scheme)
    if scheme == "locmemcache":
        return environ.Env.cache_url_config(url)
    # Rate limits count in Redis or in the database (web.ratelimit); another shared cache
    # would be a second thing to run that nothing uses for what matters.
    raise ImproperlyConfigured(
        f"CACHE_URL must be locmemcache:// or redis://HOST:PORT/DB, not {scheme}://."
    )


def redis_cache(url, scheme):
    """Django's own Redis backend (django-environ would pick django-redis if it were
    installed), with short socket timeouts."""
    problem = "CACHE_URL must look like redis://HOST:PORT/DB or rediss://HOST:PORT/DB"
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ImproperlyConfigured(f"{problem}: the port is not 1 to 65535.") from None
    if not parts.hostname:
        raise ImproperlyConfigured(f"{problem}: the host is missing.")
    if parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise ImproperlyConfigured(f"{problem}: the database is not a number.")
    if scheme == "rediscache":  # django-environ's older spelling of redis://
        parts = parts._replace(scheme="redis")
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": urlunsplit(parts),
        "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
    }


CACHES = {"default": cache_from_url(env.str("CACHE_URL", default="") or "locmemcache://")}

# Requests per minute and client address to the public leak-report endpoint.
LEAK_REPORT_RATE = env.int("LEAK_REPORT_RATE", default=30)
# Failed API authentications per minute and client address before failures get 429 (a valid
# token from the same address still works: an attacker cannot lock a real client out).
API_AUTH_FAILURE_LIMIT = env.int("API_AUTH_FAILURE_LIMIT", default=30)
# Failed sign-ins per 15 minutes for one e-mail from one address, and from one address in all.
SIGN_IN_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=5)
SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = env.int("SIGN_IN_FAILURE_LIMIT_PER_ADDRESS", default=30)
# Failed sign-ins for one account from every address together (review 3, finding 5).
SIGN_IN_FAILURE_LIMIT_PER_ACCOUNT = env.int("SIGN_IN_FAILURE_LIMIT_PER_ACCOUNT", default=20)

# Single sign-on's calls to a tenant's identity provider (identity.outbound, identity.discovery).
# Only public https providers, unless this is on: plain http, IP literals and loopback, private
# and link-local addresses are for a provider on a developer's machine, or the tests'.
IDENTITY_PROVIDER_PRIVATE_NETWORKS_ALLOWED = env_flag(
    "IDENTITY_PROVIDER_PRIVATE_NETWORKS_ALLOWED", default=False
)
# Hosts besides the issuer's own that a discovery document may name for its endpoints, e.g.
# "oauth2.googleapis.com,www.googleapis.com,openidconnect.googleapis.com" for Google.
IDENTITY_PROVIDER_ENDPOINT_HOSTS = [
    host.strip().lower().rstrip(".")
    for host in env.list("IDENTITY_PROVIDER_ENDPOINT_HOSTS", default=[])
    if host.strip()
]
# Seconds to connect to the provider and to wait for each read (a whole answer: both added).
IDENTITY_PROVIDER_CONNECT_TIMEOUT = env_positive("IDENTITY_PROVIDER_CONNECT_TIMEOUT", 3.0, float)
IDENTITY_PROVIDER_READ_TIMEOUT = env_positive("IDENTITY_PROVIDER_READ_TIMEOUT", 5.0, float)
# Seconds a provider's discovery document and keys are reused, and a failure remembered (the
# provider is not asked again meanwhile).
IDENTITY_PROVIDER_CACHE_SECONDS = env_positive("IDENTITY_PROVIDER_CACHE_SECONDS", 300, int)
IDENTITY_PROVIDER_FAILURE_SECONDS = env_positive("IDENTITY_PROVIDER_FAILURE_SECONDS", 30, int)
# Single sign-on starts (/login/sso/) per minute and client address.
SSO_START_RATE = env_positive("SSO_START_RATE", 30, int)


# E-mail (notifications app): EMAIL_URL is django-environ's email_url, e.g. smtp+tls://USER:
# PASSWORD@HOST:587. The console by default, so development needs no mail server. Errors
# name the variable but never echo the URL: it may hold the SMTP password.
def email_from_url(url):
    try:
        config = environ.Env.email_url_config(url)
    except (ImproperlyConfigured, ValueError) as error:
        reason = str(error).replace(url, "…")
        if "schema" in reason:
            reason = "use smtp://, smtp+tls://, smtp+ssl:// or consolemail://"
        raise ImproperlyConfigured(f"EMAIL_URL is not a usable e-mail URL: {reason}.") from None
    return {key: value for key, value in config.items() if value not in (None, "")}


globals().update(email_from_url(env.str("EMAIL_URL", default="consolemail://")))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default=f"API Token Portal <no-reply@{PORTAL_DOMAIN}>"
)
# Seconds an SMTP connect or reply may take: a hung mail server stops sendnotifications with
# one line instead of holding it (and its open transaction) for ever.
EMAIL_TIMEOUT = 10

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = ["tenants.backends.TenantEmailBackend"]
# Who takes over a deprovisioned person's service accounts: their manager in the directory
# (identity, a floor above tenants, hence a dotted path as for the backends). "" for none.
DIRECTORY_MANAGER = "identity.services.directory_manager"
SILENCED_SYSTEM_CHECKS = [
    # "User.email is the USERNAME_FIELD but not unique": on purpose, e-mails are unique per
    # tenant (tenants.models.User), and the one backend above never takes an e-mail alone
    # where it names several users (the host picks the tenant, or the sign-in is refused).
    "auth.W004",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tokens:list"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# In the database, shared by every host: deprovisioning deletes a user's sessions there
# (tenants.models.UserSession), which a cache or cookie engine would not allow.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"  # a 403 in the portal's layout, not Django's
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PORTAL_SCHEME == "https":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # tenants live on sub-domains of the portal
    SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", default=True)
    if env_flag("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Reverse proxies in front of gunicorn whose X-Forwarded-For entries are trusted (0: none).
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
# The addresses (or CIDR ranges; "*": any) those proxies connect from, the same variable
# gunicorn reads: X-Forwarded-For counts only on a connection from one of them, so a client
# that reaches a host around the load balancer cannot pick its own address.
FORWARDED_ALLOW_IPS = [
    entry.strip() for entry in env.str("FORWARDED_ALLOW_IPS", default="127.0.0.1").split(",")
]
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must be 0 or more, not {TRUSTED_PROXIES}.")
for _entry in FORWARDED_ALLOW_IPS:
    try:
        if _entry != "*":
            ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"FORWARDED_ALLOW_IPS must list addresses or CIDR ranges (or *), not {_entry!r}."
        ) from None

# How often (seconds) a token's last use and usage counts are written at most (tokens.usage).
TOKEN_LAST_USED_RESOLUTION = env.int("TOKEN_LAST_USED_RESOLUTION", default=60)

# Verified tokens and token counts are cached per process, and every write that affects them
# makes them stale on every process of every host before it returns (web.invalidation):
# through a file beside the database on SQLite, through LISTEN/NOTIFY on PostgreSQL. "off"
# reads the database on every request. The old one-host mode, "local", is that same cache on
# SQLite; on PostgreSQL it would let a revoked token pass on another host, so it is refused.
TOKEN_CACHE = env.str("TOKEN_CACHE", default="on").strip().lower()
if TOKEN_CACHE == "local" and _db["ENGINE"].endswith("sqlite3"):
    TOKEN_CACHE = "on"
if TOKEN_CACHE not in ("on", "off"):
    raise ImproperlyConfigured(
        f"TOKEN_CACHE must be on or off, not {TOKEN_CACHE!r}"
        + (
            " (the one-host 'local' mode is refused on PostgreSQL)."
            if TOKEN_CACHE == "local"
            else "."
        )
    )

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "web.logs.RedactSecrets"},
        "database_unavailable": {"()": "web.logs.DatabaseUnavailable"},
    },
    "formatters": {
        # gunicorn's own lines use the same two (web.serverlog).
        "plain": {"()": "web.logs.PlainLines"},
        "json": {"()": "web.logs.JsonLines"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A database outage fails every request: one line each, not a traceback each.
        "django.request": {"filters": ["database_unavailable"]},
    },
}
