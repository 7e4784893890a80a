"""PostgreSQL unreachable: 503 with Retry-After (JSON under /api/, a plain page elsewhere),
one log line per failed request, never a 500 or a traceback."""

import http.client
import json
import logging

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from portal.views import server_error
from testbed.server import bare_gunicorn, request
from tokens import crypto

UNAVAILABLE = {"detail": "The service is temporarily unavailable; try again shortly."}


def handled(path, error):
    """server_error as Django calls it: while the exception is being handled."""
    try:
        raise error
    except Exception:
        return server_error(RequestFactory().get(path))


# No `db` fixture: pytest-django fails any test that touches the database, so these prove
# that the 503 answers do not.
def test_the_api_gets_503_json_with_retry_after():
    response = handled("/api/v1/me/", OperationalError("connection refused"))
    assert response.status_code == 503
    assert json.loads(response.content) == UNAVAILABLE
    assert int(response["Retry-After"]) > 0


def test_pages_get_a_plain_503_page():
    response = handled("/login/", OperationalError("connection refused"))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"temporarily unavailable" in response.content
    assert int(response["Retry-After"]) > 0


def test_other_errors_stay_500():
    assert handled("/api/v1/me/", ValueError("a bug")).status_code == 500


def test_a_database_failure_is_logged_as_one_line(caplog):
    try:
        raise OperationalError("connection to server failed: Connection refused\n\tIs it up?")
    except OperationalError:
        logging.getLogger("django.request").error(
            "%s: %s", "Service Unavailable", "/login/", exc_info=True
        )
    (record,) = caplog.records
    assert record.exc_info is None
    assert record.getMessage() == (
        "database unavailable: connection to server failed: Connection refused "
        "(Service Unavailable: /login/)"
    )


def test_other_failures_keep_their_traceback(caplog):
    try:
        raise ValueError("a bug")
    except ValueError:
        logging.getLogger("django.request").error("Internal Server Error: /", exc_info=True)
    (record,) = caplog.records
    assert record.exc_info is not None


@pytest.fixture(scope="module")
def server_without_database(tmp_path_factory):
    """A real gunicorn whose PostgreSQL is a closed port."""
    directory = tmp_path_factory.mktemp("no-database")
    with bare_gunicorn(directory, database_url="postgres://postgres@127.0.0.1:1/nowhere") as server:
        yield server


def get(server, path, **kwargs):
    return request(server.port, "GET", path, **kwargs)


def test_gunicorn_answers_503_json_under_api(server_without_database):
    token = crypto.generate()  # well formed, so it gets as far as the database
    response, body = get(
        server_without_database, "/api/v1/me/", headers={"Authorization": f"Token {token}"}
    )
    assert response.status == 503, body
    assert json.loads(body) == UNAVAILABLE
    assert response.getheader("Retry-After")


def test_gunicorn_answers_a_503_page_elsewhere(server_without_database):
    response, body = get(server_without_database, "/login/", host="contoso.us.portal.localhost")
    assert response.status == 503, body
    assert response.getheader("Content-Type").startswith("text/html")
    assert b"temporarily unavailable" in body


def test_gunicorn_healthz_names_the_database(server_without_database):
    response, body = get(server_without_database, "/healthz")
    assert response.status == 503
    assert json.loads(body) == {"status": "unavailable", "failing": ["database"]}


def test_gunicorn_is_alive_but_not_ready_without_its_database(server_without_database):
    response, body = get(server_without_database, "/livez")
    assert response.status == 200, body
    response, body = get(server_without_database, "/readyz")
    assert response.status == 503
    # Its listener cannot reach PostgreSQL either, so its caches are not trusted.
    assert json.loads(body) == {"status": "unavailable", "failing": ["database", "invalidation"]}


def test_gunicorn_logs_no_traceback(server_without_database):
    for path in ("/login/", "/healthz"):
        get(server_without_database, path, host="contoso.us.portal.localhost")
    log = server_without_database.log()
    assert "database unavailable: " in log
    assert "Traceback" not in log, log
    assert http.client.responses[503] in log  # the failed request is still logged
