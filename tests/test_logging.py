import io
import json
import logging
import re
import uuid

import pytest

from testbed.server import bare_gunicorn
from testbed.server import request as http_request
from tests.api import api_client
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token
from web.logs import JsonLines, RedactSecrets, redact


@pytest.fixture
def log_output():
    """Everything the configured console handler writes, as an operator would read it."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    yield stream
    handler.setStream(previous)
    logging.getLogger().setLevel(level)


def test_a_full_journey_logs_no_token_digest_or_authorization_header(
    log_output, signed_in, operator, settings
):
    settings.DEBUG = False
    client = signed_in(operator)
    response = client.post(
        "/settings/security-extensions/api-tokens/new/", {"name": "CI", "form_id": uuid.uuid4().hex}
    )
    secret = revealed_value(response)
    token = Token.objects.get()
    api = api_client(secret)
    api.get("/api/v1/me/")
    api.get("/api/v1/tokens/?status=bogus")
    api_client(secret[:-1] + "0").get("/api/v1/me/")
    api.post("/api/v1/tokens/report-leak/", {"token": secret}, content_type="application/json")
    api.get("/api/v1/me/")
    logging.getLogger("portal.test").warning("Authorization: Token %s", secret)
    output = log_output.getvalue()
    assert output  # the journey did log (bad requests, refused calls)
    assert secret not in output and secret[:20] not in output
    assert token.digest not in output
    assert "Authorization: Token" not in output


@pytest.mark.parametrize(
    "text",
    [
        f"token={crypto.generate()}",
        "digest " + "ab" * 32,
        "Authorization: Bearer abc.def",
        "{'HTTP_AUTHORIZATION': 'Token atp_x'}",
    ],
)
def test_secrets_are_redacted(text):
    assert "[redacted]" in redact(text)


def test_json_lines_are_one_object_per_record():
    record = logging.LogRecord("portal", logging.WARNING, __file__, 1, "Hello %s", ("you",), None)
    RedactSecrets().filter(record)
    line = JsonLines().format(record)
    assert json.loads(line)["message"] == "Hello you"
    assert "\n" not in line


# --- What a real gunicorn writes: every line in the portal's format, redacted ------------

PLAIN_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ "
)


def served_with_a_token_in_urls(directory, log_format):
    """stdout and stderr of a gunicorn that served URLs with a token in them, and the token."""
    secret = crypto.generate()
    with bare_gunicorn(
        directory, database_url=f"sqlite:///{directory / 'db.sqlite3'}", LOG_FORMAT=log_format
    ) as server:
        statuses = [
            http_request(server.port, "GET", path)[0].status
            for path in (
                f"/healthz?token={secret}",
                f"/login/?next=/x/{secret}",
                f"/x/{secret}/",  # a 404, which Django logs too
            )
        ]
    assert statuses == [200, 200, 404]
    return server.log(), secret


@pytest.fixture(scope="module")
def plain_output(tmp_path_factory):
    return served_with_a_token_in_urls(tmp_path_factory.mktemp("gunicorn-plain"), "plain")


@pytest.fixture(scope="module")
def json_output(tmp_path_factory):
    return served_with_a_token_in_urls(tmp_path_factory.mktemp("gunicorn-json"), "json")


@pytest.fixture(params=["plain", "json"])
def gunicorn_output(request):
    return request.param, *request.getfixturevalue(f"{request.param}_output")


def test_gunicorn_writes_no_token_in_either_format(gunicorn_output):
    _, output, secret = gunicorn_output
    assert "[redacted]" in output
    assert "atp_" not in output and secret[4:20] not in output


def test_every_line_gunicorn_writes_is_in_the_configured_format(gunicorn_output):
    log_format, output, _ = gunicorn_output
    lines = output.splitlines()
    assert len(lines) >= 6  # start-up, worker boot, three requests, a 404
    for line in lines:
        if log_format == "json":
            assert isinstance(json.loads(line), dict), line
        else:
            assert PLAIN_LINE.match(line), line


def test_the_json_access_log_has_one_field_per_fact(json_output):
    output, _ = json_output
    entries = [json.loads(line) for line in output.splitlines()]
    access = [e for e in entries if e["logger"] == "gunicorn.access"]
    assert [e["path"] for e in access] == [
        "/healthz?token=[redacted]",
        "/login/?next=/x/[redacted]",
        "/x/[redacted]/",
    ]
    healthz = access[0]
    assert (healthz["method"], healthz["status"], healthz["remote_addr"]) == (
        "GET",
        200,
        "127.0.0.1",
    )
    assert healthz["bytes"] > 0 and healthz["duration"] >= 0 and healthz["time"]
    booted = [e for e in entries if e["logger"] == "gunicorn.error" and "Booting" in e["message"]]
    assert booted and booted[0]["level"] == "INFO"
