"""GET /healthz for load balancers (CONTRACT §10). The database-down answers are proven on a
real gunicorn in tests/test_database_unavailable.py."""

import logging
import socket

import pytest
from django.conf import settings as django_settings
from django.test import Client

from portal.settings import cache_from_url
from testbed.redis_server import RedisServer

pytestmark = pytest.mark.django_db


def test_it_answers_ok_with_no_store_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_head_answers_like_get(client):
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_other_methods_are_refused(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_it_is_the_first_middleware():
    assert django_settings.MIDDLEWARE[0] == "web.health.HealthCheckMiddleware"


def test_a_probe_by_ip_address_over_plain_http_is_answered(settings):
    """A load balancer probes each host by address, over HTTP: neither the HTTPS redirect
    nor ALLOWED_HOSTS may turn it away, while every other path still gets them."""
    settings.SECURE_SSL_REDIRECT = True
    client = Client(HTTP_HOST="10.20.30.40")
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 400  # DisallowedHost
    assert Client(HTTP_HOST="portal.localhost").get("/login/").status_code == 301


def test_it_needs_no_sign_in_and_is_never_rate_limited(client, settings):
    settings.API_AUTH_FAILURE_LIMIT = 1
    settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = 1
    answers = {client.get("/healthz").status_code for _ in range(20)}
    assert answers == {200}


def redis_cache(location):
    """CACHES as the settings make them from CACHE_URL: Django's backend, short timeouts."""
    return {"default": cache_from_url(location)}


def test_an_unreachable_redis_cache_is_named(client, settings):
    pytest.importorskip("redis")
    settings.CACHES = redis_cache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["redis"]}
    assert response["Cache-Control"] == "no-store"


def test_a_redis_that_never_answers_is_given_up_on(client, settings):
    """A listening socket that never replies, as a hung Redis: the probe must still answer."""
    pytest.importorskip("redis")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.CACHES = redis_cache(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server.url
    server.stop()


def test_it_answers_ok_when_a_redis_cache_answers(client, settings, redis_server):
    settings.CACHES = redis_cache(redis_server)
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


def test_a_failing_part_is_logged_when_it_fails_and_when_it_answers_again_not_per_probe(
    client, settings, redis_server, caplog
):
    # Review 3, finding 10: every failing probe logged a WARNING, and anyone may probe.
    pytest.importorskip("redis")
    caplog.set_level(logging.INFO, logger="web.health")
    settings.CACHES = redis_cache("redis://127.0.0.1:1/0")
    for _ in range(5):
        assert client.get("/healthz").status_code == 503
    settings.CACHES = redis_cache(redis_server)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    lines = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO"]
    assert lines[0][1].startswith("health check: redis unavailable: ")
    assert lines[1][1] == "health check: redis answers again"
