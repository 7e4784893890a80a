import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from tenants.models import Role
from testbed import Missing
from tests.api import check_answer
from tests.factories import TenantFactory, UserFactory
from tokens import authcache, counts, pending
from tokens.services import token_issue
from web import invalidation, ratelimit


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _skip_when_missing())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _skip_when_missing())


def _skip_when_missing():
    """A Debian program that testbed drives and this machine lacks skips the test, naming it
    (make test installs them: tests/install_peers.py)."""
    try:
        return (yield)
    except Missing as missing:
        pytest.skip(str(missing))


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test starts as a new worker process would: no cached tokens, no pending counts.
    Unlike a worker's, its usage is written when it flushes (pending.flush_all), never by a
    thread behind its back."""
    pending.flush_by_hand()
    authcache.clear_local()
    counts.clear_local()
    pending.forget()
    cache.clear()
    ratelimit.forget()  # clients this process remembers as blocked
    yield
    authcache.clear_local()
    counts.clear_local()
    pending.forget()


@pytest.fixture(autouse=True)
def _api_answers_as_documented(monkeypatch):
    """Every answer under /api/ that any test receives is held to the OpenAPI document, so
    the document cannot drift from what the API does while the suite passes."""
    request = Client.request

    def checked(client, **environ):
        response = request(client, **environ)
        if response.request["PATH_INFO"].startswith("/api/"):
            check_answer(response)
        return response

    monkeypatch.setattr(Client, "request", checked)


@pytest.fixture(scope="session", autouse=True)
def _invalidation_listener(django_db_setup, django_db_blocker):
    """The test process hears invalidations like a worker; its listener is stopped before the
    test database is dropped (PostgreSQL refuses to drop a database with a session open)."""
    yield
    invalidation.stop()


@pytest.fixture
def caching(db):
    """This process may answer from its caches (on PostgreSQL, once its listener is in)."""
    assert invalidation.wait_until_caching()


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="contoso", name="Contoso")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="fabrikam", name="Fabrikam")


@pytest.fixture
def full_admin(tenant):
    return UserFactory(tenant=tenant, role=Role.FULL_ADMIN, email="admin@contoso.test")


@pytest.fixture
def operator(tenant):
    return UserFactory(tenant=tenant, role=Role.SECURITY_OPERATOR, email="operator@contoso.test")


@pytest.fixture
def reader(tenant):
    return UserFactory(tenant=tenant, role=Role.SECURITY_READER, email="reader@contoso.test")


@pytest.fixture
def other_tenant_admin(other_tenant):
    return UserFactory(tenant=other_tenant, role=Role.FULL_ADMIN, email="admin@fabrikam.test")


@pytest.fixture
def signed_in():
    """A test client signed in as user, on its tenant's custom host unless told otherwise."""

    def make(user, host=None):
        client = Client(HTTP_HOST=host or user.tenant.host)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def issue():
    """Issue a real token and return (token, secret)."""

    def make(owner, name="Test token", **kwargs):
        issued = token_issue(owner=owner, name=name, **kwargs)
        return issued.token, issued.secret

    return make


@pytest.fixture(scope="session")
def shell_env(tmp_path_factory):
    """Environment for running manage.py in a real subprocess, on a migrated scratch SQLite
    database (the test database lives in this process only)."""
    database = tmp_path_factory.mktemp("shell") / "db.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testbed.settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)
    return env
