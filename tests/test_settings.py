import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from portal.settings import cache_from_url

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Qk2v9R-not-a-real-key-but-long-and-random-enough-PZ4mW8sL1tY6",
    "PORTAL_DOMAIN": "portal.example.com",
    "DATABASE_URL": "sqlite:////tmp/never-opened.sqlite3",
}


def run_manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    base.pop("PORTAL_SCHEME", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORTAL_PORT", "eighty"),
        ("PORTAL_PORT", "70000"),
        ("PORTAL_SCHEME", "ftp"),
        ("DEBUG", "maybe"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.10,load-balancer"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "-1"),
        ("DATABASE_POOL_MODE", "statement"),
        ("INVALIDATION_DATABASE_URL", "mysql://db/portal"),
    ],
)
def test_it_fails_loudly_on_bad_configuration(variable, value):
    result = run_manage("check", env={**PRODUCTION_ENV, variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def test_a_configuration_error_is_one_line_naming_the_variable():
    result = run_manage("check", env={**PRODUCTION_ENV, "PORTAL_SCHEME": "ftp"})
    assert result.returncode == 1
    assert result.stderr.strip() == "Configuration error: PORTAL_SCHEME must be http or https."


def test_the_one_host_token_cache_is_refused_on_postgresql():
    postgres = {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/never", "TOKEN_CACHE": "local"}
    result = run_manage("check", env={**PRODUCTION_ENV, **postgres})
    assert result.returncode == 1
    assert result.stderr.count("\n") <= 1
    assert "TOKEN_CACHE" in result.stderr and "refused on PostgreSQL" in result.stderr


def test_on_sqlite_the_old_local_token_cache_means_on():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.TOKEN_CACHE)",
        env={**PRODUCTION_ENV, "TOKEN_CACHE": "local"},
    )
    assert result.stdout.strip().splitlines()[-1] == "on", result.stderr


def test_debug_is_off_and_https_is_the_default_scheme_in_production():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.PORTAL_SCHEME)",
        env=PRODUCTION_ENV,
    )
    assert result.stdout.splitlines()[-1] == "False https"


def test_sqlite_is_configured_for_several_writer_processes():
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the suite runs on PostgreSQL")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]


def test_allowed_hosts_cover_the_portal_domain_its_subdomains_and_loopback():
    assert {"portal.localhost", ".portal.localhost", "localhost", "127.0.0.1"} <= set(
        settings.ALLOWED_HOSTS
    )


def test_debug_makes_http_the_default_scheme():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.PORTAL_SCHEME)",
        env={**PRODUCTION_ENV, "DEBUG": "true"},
    )
    assert result.stdout.splitlines()[-1] == "True http"


def test_extra_allowed_hosts_are_added_to_the_defaults():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(' '.join(s.ALLOWED_HOSTS))",
        env={**PRODUCTION_ENV, "ALLOWED_HOSTS": "lb.internal,10.0.0.5"},
    )
    hosts = result.stdout.splitlines()[-1].split()
    assert hosts == [
        "portal.example.com",
        ".portal.example.com",
        "localhost",
        "127.0.0.1",
        "lb.internal",
        "10.0.0.5",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "memcache://127.0.0.1:11211",
        "127.0.0.1:6379",
        "redis://",
        "redis://:s3cret@127.0.0.1:port/0",
        "redis://127.0.0.1:70000/0",
        "redis://127.0.0.1:6379/first",
    ],
)
def test_a_bad_cache_url_is_refused_at_start_up_in_one_line_naming_it(value):
    result = run_manage("check", env={**PRODUCTION_ENV, "CACHE_URL": value})
    assert result.returncode != 0
    message = result.stderr.strip()
    assert "\n" not in message
    assert message.startswith("Configuration error: CACHE_URL must")
    assert "s3cret" not in result.stderr  # a password in the URL is never echoed


@pytest.mark.parametrize(
    ("value", "location"),
    [
        ("redis://10.0.0.7:6379/1", "redis://10.0.0.7:6379/1"),
        ("rediss://:pw@redis.internal:6380/0", "rediss://:pw@redis.internal:6380/0"),
        ("rediscache://10.0.0.7:6379/1", "redis://10.0.0.7:6379/1"),
    ],
)
def test_a_redis_cache_url_uses_djangos_backend_with_short_timeouts(value, location):
    cache = cache_from_url(value)
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == location
    assert cache["OPTIONS"] == {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}


def test_admin_hosts_default_to_the_generic_hosts_and_extra_ones_are_allowed():
    show = (
        "from django.conf import settings as s; "
        "print(' '.join(s.ADMIN_HOSTS)); print(' '.join(s.ALLOWED_HOSTS))"
    )
    default = run_manage("shell", "-c", show, env=PRODUCTION_ENV).stdout.splitlines()
    assert default[-2].split() == ["portal.example.com", "localhost", "127.0.0.1"]
    named = run_manage(
        "shell", "-c", show, env={**PRODUCTION_ENV, "ADMIN_HOSTS": "Admin.Internal."}
    ).stdout.splitlines()
    assert named[-2] == "admin.internal" and "admin.internal" in named[-1].split()


def test_admin_hosts_cannot_name_a_tenants_host():
    env = {**PRODUCTION_ENV, "ADMIN_HOSTS": "contoso.us.portal.example.com"}
    result = run_manage("check", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Configuration error: ADMIN_HOSTS cannot name contoso.us.portal.example.com: "
        "sub-domains of PORTAL_DOMAIN are tenants' hosts."
    )


def test_production_passwords_are_hashed_with_pbkdf2():
    # The suite hashes with MD5 for speed (testbed/settings.py); production must not.
    result = run_manage(
        "shell",
        "-c",
        "from django.contrib.auth.hashers import make_password, PBKDF2PasswordHasher as P; "
        "print(make_password('x').split('$')[:2], P.iterations)",
        env=PRODUCTION_ENV,
    )
    algorithm, iterations = result.stdout.splitlines()[-1].rsplit("] ", 1)
    assert algorithm == "['pbkdf2_sha256', '1000000'"
    assert int(iterations) >= 1_000_000


def test_transaction_pooling_needs_a_direct_listener_url_and_postgresql():
    pooled = {**PRODUCTION_ENV, "DATABASE_POOL_MODE": "transaction"}
    result = run_manage("check", env={**pooled, "DATABASE_URL": "postgres://db/portal"})
    assert result.returncode == 1
    assert "needs INVALIDATION_DATABASE_URL" in result.stderr
    result = run_manage(
        "check",
        env={**pooled, "DATABASE_URL": "sqlite:///x.sqlite3", "INVALIDATION_DATABASE_URL": ""},
    )
    assert result.returncode == 1
    assert "DATABASE_POOL_MODE=transaction is for PostgreSQL only." in result.stderr
