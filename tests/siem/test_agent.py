"""portal-siem-agent end to end (CONTRACT §11): a real gunicorn serving the portal on a
throw-away database, Debian's rsyslogd as the SIEM's receiver on a loopback TCP port, and the
agent as a separate process, killed and restarted as in production."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from testbed.rsyslog import Rsyslog
from testbed.server import Gunicorn, free_port, request, server_env
from testbed.throwaway import ROOT, ThrowawayDatabase, manage, run_in_portal, suite_engine
from tests.siem.tls_receiver import TlsReceiver

pytestmark = pytest.mark.siem

EXTERNAL_ID = re.compile(r"externalId=([0-9a-f-]{36})")
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def figures():
    """Delivery figures of this run, written to test-artifacts/ for the docs (not asserted
    on time: a loaded machine is slower, not wrong)."""
    found = {"engine": suite_engine()}
    yield found
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"siem-agent-{found['engine']}.json").write_text(json.dumps(found, indent=2))
    print("\nSIEM agent figures:", json.dumps(found))


class Portal:
    def __init__(self, env, port, seed):
        self.env, self.port, self.seed = env, port, seed
        self.url = f"http://127.0.0.1:{port}"

    def generate(self, count):
        return run_in_portal("tests.siem.seed.generate", env=self.env, payload={"count": count})

    def feed_ids(self):
        return run_in_portal("tests.siem.seed.feed_ids", env=self.env)

    def health(self):
        return run_in_portal("tests.siem.seed.agent_health", env=self.env)

    def call(self, method, path, secret):
        response, body = request(
            self.port, method, path, host="127.0.0.1", headers={"Authorization": f"Token {secret}"}
        )
        return response.status, body

    def use_and_revoke(self, tokens):
        """Each token calls the API once; every other one is then revoked by the admin."""
        for number, token in enumerate(tokens):
            assert self.call("GET", "/api/v1/me/", token["secret"])[0] == 200
            if number % 2:
                path = f"/api/v1/tokens/{token['id']}/"
                assert self.call("DELETE", path, self.seed["api"])[0] == 204


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    rsyslog = Rsyslog(tmp_path_factory.mktemp("rsyslog")).start()
    yield rsyslog
    rsyslog.stop()


@pytest.fixture(scope="module")
def portal(tmp_path_factory, receiver):
    directory = tmp_path_factory.mktemp("siem")
    database = ThrowawayDatabase(directory, label="siem")
    try:
        port = free_port()
        env = server_env(database, port, directory, workers=2)
        manage("migrate", "--noinput", "-v0", env=env)
        manage("collectstatic", "--noinput", "-v0", env=env)
        seed = run_in_portal("tests.siem.seed.main", env=env, payload={"port": receiver.port})
        server = Gunicorn(env, directory / "gunicorn.log")
        server.start()
        try:
            yield Portal(env, port, seed)
        finally:
            server.stop()
    finally:
        database.drop()


@pytest.fixture
def fresh_receiver(receiver):
    """The shared rsyslog with an empty output file."""
    receiver.stop()
    receiver.output.unlink(missing_ok=True)
    receiver.start()
    return receiver


class Agent:
    def __init__(self, portal, secret, state, *extra):
        self.command = [sys.executable, "-m", "siem_agent", "--url", portal.url]
        self.command += ["--state", str(state), "--poll", "0.1", "--heartbeat", "1", *extra]
        self.env = {**os.environ, "PORTAL_SIEM_AGENT_TOKEN": secret}
        self.process = None

    def start(self):
        self.process = subprocess.Popen(  # noqa: S603
            self.command,
            cwd=ROOT,
            env=self.env,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self

    def run_once(self):
        return subprocess.run(  # noqa: S603
            [*self.command, "--once"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        return self.process.returncode, self.process.stderr.read()


def received_ids(lines):
    """The event ids the receiver wrote, in order, from CEF (externalId) or JSON lines."""
    ids = []
    for line in lines:
        _, body = line.split(" ", 1)
        if body.startswith("CEF:0|"):
            ids.append(EXTERNAL_ID.search(body).group(1))
        else:
            ids.append(json.loads(body)["id"])
    return ids


def test_every_event_arrives_once_in_order_while_tokens_are_used(portal, fresh_receiver, tmp_path):
    agent = Agent(portal, portal.seed["agents"]["cef"], tmp_path / "state.json").start()
    try:
        for _ in range(3):
            portal.use_and_revoke(portal.generate(20))
        expected = portal.feed_ids()
        lines = fresh_receiver.wait_for(len(expected))
        time.sleep(0.5)  # anything more would be a duplicate
    finally:
        code, log = agent.stop()
    assert code == 0, log
    assert received_ids(fresh_receiver.lines()) == expected
    actions = Counter(line.split(" ", 1)[0] for line in lines)
    assert actions["token.generated"] >= 60 and actions["token.revoked"] == 30
    assert all(line.split(" ", 1)[1].startswith("CEF:0|API Token Portal|") for line in lines)
    assert f"stopped after delivering {len(expected)} events" in log


def test_json_lines_carry_the_feed_event_without_its_cef_copy(portal, fresh_receiver, tmp_path):
    portal.use_and_revoke(portal.generate(4))
    result = Agent(portal, portal.seed["agents"]["json"], tmp_path / "state.json").run_once()
    assert result.returncode == 0, result.stderr
    expected = portal.feed_ids()
    lines = fresh_receiver.wait_for(len(expected))
    assert received_ids(lines) == expected
    event = json.loads(lines[-1].split(" ", 1)[1])
    assert set(event) == {"id", "time", "action", "actor", "token", "client_ip", "detail"}
    assert event["token"]["name"].startswith("script ")


def test_events_deleted_by_retention_before_delivery_are_said_and_skipped(
    portal, fresh_receiver, tmp_path
):
    agent = Agent(portal, portal.seed["agents"]["cef"], tmp_path / "state.json")
    assert agent.run_once().returncode == 0
    portal.generate(5)  # never delivered: retention deletes them first
    kept = [one["id"] for one in portal.generate(3)]
    assert run_in_portal("tests.siem.seed.purge_through", env=portal.env, payload={"keep": 3})
    fresh_receiver.stop()
    fresh_receiver.output.unlink(missing_ok=True)
    fresh_receiver.start()
    result = agent.run_once()
    assert result.returncode == 0, result.stderr
    assert "deleted by the tenant's audit retention" in result.stderr
    lines = fresh_receiver.wait_for(3)
    assert [line.split(" ", 1)[0] for line in lines] == ["token.generated"] * 3
    assert len(received_ids(lines)) == len(kept) == 3


def test_a_restart_resumes_where_the_receiver_left_off(portal, fresh_receiver, tmp_path):
    agent = Agent(portal, portal.seed["agents"]["cef"], tmp_path / "state.json")
    assert agent.run_once().returncode == 0
    first = fresh_receiver.wait_for(len(portal.feed_ids()))
    portal.generate(5)
    assert agent.run_once().returncode == 0
    expected = portal.feed_ids()
    assert received_ids(fresh_receiver.wait_for(len(expected))) == expected
    assert len(expected) == len(first) + 5


def test_sigkill_mid_stream_loses_nothing_and_repeats_at_most_one_batch(
    portal, fresh_receiver, tmp_path, figures
):
    portal.generate(3000)
    state = tmp_path / "state.json"
    agent = Agent(portal, portal.seed["agents"]["cef"], state, "--batch", "100").start()
    fresh_receiver.wait_for(1000)
    code, _ = agent.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL
    killed_at = len(fresh_receiver.lines())
    expected = portal.feed_ids()
    assert killed_at < len(expected), "the agent was killed after it had delivered everything"

    result = Agent(portal, portal.seed["agents"]["cef"], state, "--batch", "100").run_once()
    assert result.returncode == 0, result.stderr
    received = received_ids(fresh_receiver.wait_for(len(expected)))
    assert set(received) == set(expected), "an event was lost"
    duplicates = [event for event, times in Counter(received).items() if times > 1]
    figures["sigkill"] = {
        "events": len(expected),
        "received_before_kill": killed_at,
        "lost": len(set(expected) - set(received)),
        "duplicates": len(duplicates),
        "batch": 100,
    }
    assert len(duplicates) <= 100, "more than the last unacknowledged batch came twice"
    # Apart from the repeated batch, the order is the feed's.
    assert list(dict.fromkeys(received)) == expected


def test_a_stopped_receiver_is_retried_and_nothing_is_lost(
    portal, fresh_receiver, tmp_path, figures
):
    agent = Agent(portal, portal.seed["agents"]["cef"], tmp_path / "state.json", "--batch", "50")
    agent.start()
    try:
        portal.generate(500)
        fresh_receiver.wait_for(100)
        fresh_receiver.stop()
        portal.generate(200)
        time.sleep(3)  # the agent backs off and retries meanwhile
        fresh_receiver.start()
        expected = portal.feed_ids()
        received = received_ids(fresh_receiver.wait_for(len(expected), timeout=90))
    finally:
        code, log = agent.stop()
    figures["receiver_stopped"] = {
        "events": len(expected),
        "lost": len(set(expected) - set(received)),
        "duplicates": len(received) - len(set(received)),
        "retries": log.count("retrying in"),
    }
    assert code == 0
    assert set(received) == set(expected), "an event was lost"
    assert list(dict.fromkeys(received)) == expected
    assert "retrying in" in log


def test_the_portal_learns_the_agents_version_and_that_it_is_up_to_date(
    portal, fresh_receiver, tmp_path
):
    portal.generate(3)
    agent = Agent(portal, portal.seed["agents"]["cef"], tmp_path / "state.json")
    assert agent.run_once().returncode == 0
    health = portal.health()["Splunk"]
    assert health["lag_events"] == 0 and health["status"] == "Running"
    assert health["version"]


def test_tls_delivery_verifies_the_receivers_certificate(portal, tmp_path):
    receiver = TlsReceiver(tmp_path)
    try:
        secret = run_in_portal(
            "tests.siem.seed.add_agent",
            env=portal.env,
            payload={"name": "QRadar", "format": "cef", "port": receiver.port, "tls": True},
        )
        untrusting = Agent(portal, secret, tmp_path / "state.json").start()
        time.sleep(2)
        code, log = untrusting.stop()
        assert code == 0 and "certificate verify failed" in log and "retrying in" in log
        assert receiver.messages == []

        trusting = Agent(
            portal, secret, tmp_path / "state.json", "--syslog-ca", str(receiver.certificate)
        )
        result = trusting.run_once()
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 30
        expected = portal.feed_ids()
        while len(receiver.messages) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        receiver.close()
    ids = [EXTERNAL_ID.search(message).group(1) for message in receiver.messages]
    assert ids == expected
    assert all(
        re.match(r"<1\d\d>1 \S+ 127\.0\.0\.1 api-token-portal - ", m) for m in receiver.messages
    )


# One-line errors


def agent_error(portal, secret, *args, url=None):
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "siem_agent", "--url", url or portal.url, "--token", secret, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def test_a_bad_token_stops_the_agent_with_one_line(portal, tmp_path):
    message = agent_error(portal, "not-a-token", "--state", str(tmp_path / "s.json"))
    assert message.startswith("portal-siem-agent: error: the portal refused the token")


def test_an_api_token_is_not_an_agents_token(portal, tmp_path):
    message = agent_error(portal, portal.seed["api"], "--state", str(tmp_path / "s.json"))
    assert "not accepted here" in message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://portal.example", "--url must be the tenant's portal address"),
        ("https://portal.example/api/v1/", "no path or query"),
        ("http://127.0.0.1:99999", "port"),
        ("https://no-such-host.invalid", "cannot find the host no-such-host.invalid"),
    ],
)
def test_a_bad_url_stops_the_agent_with_one_line(portal, tmp_path, url, says):
    assert says in agent_error(portal, "x", "--state", str(tmp_path / "s.json"), url=url)


def test_a_url_that_is_not_the_portal_stops_the_agent(portal, tmp_path, receiver):
    closed = f"http://127.0.0.1:{free_port()}"
    assert "cannot reach" in agent_error(portal, "x", url=closed)


def test_another_agents_state_file_is_refused(portal, fresh_receiver, tmp_path):
    state = tmp_path / "state.json"
    assert Agent(portal, portal.seed["agents"]["cef"], state).run_once().returncode == 0
    message = agent_error(portal, portal.seed["agents"]["json"], "--state", str(state))
    assert "belongs to agent “Splunk”" in message


def test_once_gives_up_with_one_line_when_the_receiver_is_down(portal, tmp_path):
    secret = run_in_portal(
        "tests.siem.seed.add_agent",
        env=portal.env,
        payload={"name": "Nowhere", "format": "cef", "port": free_port(), "tls": False},
    )
    result = Agent(portal, secret, tmp_path / "state.json").run_once()
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("portal-siem-agent: error: syslog receiver 127.0.0.1:")
    assert "Connection refused" in last
    assert not (tmp_path / "state.json").exists()
