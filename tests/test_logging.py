import io
import json
import logging
import uuid

import pytest

from portal.logs import JsonLines, RedactSecrets, redact
from tests.api import api_client
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token


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
