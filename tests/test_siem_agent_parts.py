"""The agent's pieces without servers: RFC 5424 messages, RFC 6587 framing, its state file
and its command line (tests/siem/ drives the whole agent against real peers)."""

import json
import os
import re
import subprocess
import sys

import pytest

from siem_agent.state import StateError, StateFile
from siem_agent.syslog import frame, message, syslog_severity

EVENT = {
    "id": "5d1c3c8e-2f5b-4a8e-9a61-1c2d3e4f5a6b",
    "time": "2026-12-01T12:00:00.123456Z",
    "action": "token.denied_deprovisioned",
    "actor": "admin@contoso.test",
    "token": {"id": "0b0e6c9e", "name": "Build\nbot ünïcode", "hint": "atp_ab"},
    "client_ip": "203.0.113.9",
    "detail": "permission denied",
    "cef": "CEF:0|API Token Portal|Portal|1|token.denied_deprovisioned|a \\| b|8|rt=1",
}


def test_a_cef_message_has_the_rfc5424_header_and_the_portals_line():
    raw = message(EVENT, format="cef", hostname="contoso.us.portal.example").decode()
    # facility 13 (log audit) * 8 + severity 4 (warning, CEF 8) = 108
    assert raw == (
        "<108>1 2026-12-01T12:00:00.123456Z contoso.us.portal.example api-token-portal - "
        "token.denied_deprovisioned - " + EVENT["cef"]
    )


def test_a_json_message_is_the_event_on_one_line_without_its_cef_copy():
    raw = message(EVENT, format="json", hostname="h").decode()
    header, body = raw.split(" - ", 2)[0], raw.split(" - ", 2)[2]
    assert header.startswith("<108>1 ") and "\n" not in raw
    decoded = json.loads(body)
    assert decoded == {key: value for key, value in EVENT.items() if key != "cef"}


@pytest.mark.parametrize(
    ("cef_severity", "syslog"), [(0, 6), (3, 6), (4, 5), (6, 5), (7, 4), (8, 4), (9, 2), (10, 2)]
)
def test_cef_severity_maps_onto_syslog_severity(cef_severity, syslog):
    assert syslog_severity(f"CEF:0|v|p|1|id|name \\| x|{cef_severity}|") == syslog


def test_header_fields_hold_no_space_and_an_empty_one_is_a_dash():
    event = {**EVENT, "action": "an action with spaces that is far too long for a msgid"}
    raw = message(event, format="cef", hostname="").decode()
    fields = raw.split(" ", 6)
    assert fields[2] == "-" and fields[5] == "anactionwithspacesthatisfartoolong"[:32]


def test_octet_counting_counts_bytes_not_characters():
    raw = "ünï\ncode".encode()
    assert frame(raw) == b"10 " + raw


def test_the_state_file_is_replaced_whole_and_read_back(tmp_path):
    path = tmp_path / "nested" / "state.json"
    state = StateFile(path, url="https://a.example", agent="Splunk")
    assert state.load() is None
    state.save("cursor-1")
    state.save("cursor-2")
    assert state.load() == "cursor-2"
    assert os.listdir(path.parent) == ["state.json"]  # no temporary file left behind


@pytest.mark.parametrize("content", ["", "{", "[]", '{"cursor": 3}'])
def test_a_damaged_state_file_is_refused_with_its_name(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateError, match=re.escape(str(path))):
        StateFile(path, url="https://a.example", agent="Splunk").load()


def test_a_state_file_of_another_portal_is_refused(tmp_path):
    path = tmp_path / "state.json"
    StateFile(path, url="https://a.example", agent="Splunk").save("c")
    with pytest.raises(StateError, match="belongs to agent “Splunk” at https://a.example"):
        StateFile(path, url="https://b.example", agent="Splunk").load()


def run_agent(*args, env=None):
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "siem_agent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PORTAL_SIEM_AGENT_TOKEN": "", **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "the following arguments are required: --url"),
        (["--url", "https://a.example"], "--token is required"),
        (["--url", "https://a.example", "--token", "t", "--batch", "0"], "--batch must be"),
        (["--url", "https://a.example", "--token", "t", "--batch", "x"], "invalid int value"),
        (["--url", "https://a.example", "--token", "t", "--poll", "0"], "more than 0 seconds"),
        (["--url", "https://a.example", "--token", "t", "--syslog-ca", "/nope"], "no such file"),
        (["--url", "mailto:x@y", "--token", "t"], "--url must be"),
    ],
)
def test_bad_arguments_get_one_line(args, says):
    result = run_agent(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and lines[0].startswith("portal-siem-agent: ")


def test_the_version_is_the_packages():
    result = run_agent("--version")
    assert result.returncode == 0 and re.fullmatch(r"portal-siem-agent \S+\n", result.stdout)
    assert "unknown" not in result.stdout
