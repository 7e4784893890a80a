"""portal-siem-agent --url URL --token TOKEN [--state FILE]: the command line and its loop."""

import argparse
import os
import signal
import sys
import time
from datetime import UTC, datetime

from . import __version__
from .portal import Gone, Portal, Refused, Unavailable, parse_url
from .state import StateError, StateFile
from .syslog import Destination, Receiver, ReceiverError, message

PROGRAM = "portal-siem-agent"
FORMATS = ("cef", "json")
BACKOFF_FIRST, BACKOFF_MAX = 1, 60


def log(text):
    """One line on stderr, time-stamped; never the token."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {PROGRAM}: {text}", file=sys.stderr, flush=True)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        """One line, not the usage block: the message says what to change."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parser():
    parse = OneLineParser(
        prog=PROGRAM,
        description="Forward your tenant's audit events from the portal to your SIEM over "
        "syslog (RFC 5424 over TCP, octet-counted), in the format and to the destination set "
        "for this agent on the portal's SIEM agents page.",
    )
    parse.add_argument("--url", required=True, help="your tenant's portal address")
    parse.add_argument(
        "--token",
        default=os.environ.get("PORTAL_SIEM_AGENT_TOKEN"),
        help="the agent's token (or set PORTAL_SIEM_AGENT_TOKEN, which other users of the "
        "machine cannot see in the process list)",
    )
    parse.add_argument(
        "--state",
        help="where the agent keeps its place in the feed "
        "(default: ~/.local/state/portal-siem-agent/<portal host>.json)",
    )
    parse.add_argument(
        "--syslog-ca", metavar="FILE", help="CA certificates for a TLS receiver (PEM)"
    )
    parse.add_argument("--poll", type=float, default=2.0, help="seconds between empty polls")
    parse.add_argument("--heartbeat", type=float, default=30.0, help="seconds between beats")
    parse.add_argument("--batch", type=int, default=1000, help="events per request (1-1000)")
    parse.add_argument("--once", action="store_true", help="deliver what is waiting, then exit")
    parse.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    return parse


def main(argv=None):
    parse = parser()
    args = parse.parse_args(argv)
    try:
        url = parse_url(args.url)
    except ValueError as error:
        parse.error(f"--url {error}")
    if not args.token:
        parse.error("--token is required (or set PORTAL_SIEM_AGENT_TOKEN)")
    if not 1 <= args.batch <= 1000:
        parse.error("--batch must be from 1 to 1000")
    if args.poll <= 0 or args.heartbeat <= 0:
        parse.error("--poll and --heartbeat must be more than 0 seconds")
    if args.syslog_ca and not os.path.isfile(args.syslog_ca):
        parse.error(f"--syslog-ca {args.syslog_ca}: no such file")
    portal = Portal(url, args.token.strip(), user_agent=f"{PROGRAM}/{__version__}")
    state_path = args.state or os.path.join(
        os.path.expanduser("~/.local/state/portal-siem-agent"), f"{portal.host}.json"
    )
    agent = Agent(portal, state_path=state_path, args=args)
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, agent.stop)
    try:
        return agent.run()
    except (Refused, StateError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    except Unavailable as error:
        # Only the first call gets here; later failures are retried with back-off.
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1


class Agent:
    def __init__(self, portal, *, state_path, args):
        self.portal, self.state_path, self.args = portal, state_path, args
        self.stopping = False
        self.delivered = 0

    def stop(self, *_):
        self.stopping = True

    def run(self):
        """Beat once (which names the destination), then deliver batch after batch. Each
        batch's cursor is saved only once the receiver has it, so a crash repeats at most
        that batch."""
        answer = self.portal.heartbeat(version=__version__, cursor=None)
        self.state = StateFile(self.state_path, url=self.portal.url, agent=answer.get("name"))
        self.cursor = self.state.load()
        destination = self._destination(answer)
        self.receiver = Receiver(destination, ca_file=self.args.syslog_ca)
        log(
            f"agent “{answer.get('name')}” {__version__}: forwarding to {destination}, "
            f"{'from the saved cursor' if self.cursor else 'from the first event'}"
        )
        next_beat = 0
        backoff = BACKOFF_FIRST
        while not self.stopping:
            try:
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + self.args.heartbeat
                if self._deliver_one_batch():
                    backoff = BACKOFF_FIRST
                    continue
                if self.args.once:
                    break
                backoff = BACKOFF_FIRST
                self._sleep(self.args.poll)
            except (Unavailable, ReceiverError) as error:
                if self.args.once:
                    # Run from cron: the next run retries, and two runs must not overlap.
                    self.receiver.close()
                    print(f"{PROGRAM}: error: {error}", file=sys.stderr)
                    return 1
                wait = getattr(error, "retry_after", None) or backoff
                log(f"{error}; retrying in {wait:g} s")
                self._sleep(wait)
                backoff = min(backoff * 2, BACKOFF_MAX)
        self.receiver.close()
        if self.cursor:
            self._beat(quiet=True)
        log(f"stopped after delivering {self.delivered} events")
        return 0

    def _deliver_one_batch(self):
        try:
            page = self.portal.events(cursor=self.cursor, limit=self.args.batch)
        except Gone as gone:
            # Nothing the agent can do brings them back; the gap is said once, loudly, and
            # the portal's audit log still shows the retention that made it.
            log(
                "some events after the saved cursor were deleted by the tenant's audit "
                "retention before they were delivered; continuing from the oldest event kept"
            )
            self.state.save(gone.oldest_cursor)
            self.cursor = gone.oldest_cursor
            return True
        events = page.get("events") or []
        if not events:
            return False
        destination = self.receiver.destination
        hostname = self.portal.host
        self.receiver.send(
            [message(event, format=destination.format, hostname=hostname) for event in events]
        )
        self.state.save(page["next_cursor"])
        self.cursor = page["next_cursor"]
        self.delivered += len(events)
        return True

    def _beat(self, quiet=False):
        try:
            answer = self.portal.heartbeat(version=__version__, cursor=self.cursor)
        except Unavailable:
            if quiet:
                return
            raise
        destination = self._destination(answer)
        if destination != self.receiver.destination:
            log(f"the destination changed on the portal: now {destination}")
            self.receiver.close()
            self.receiver.destination = destination
        lag = answer.get("lag") or {}
        if lag.get("events"):
            log(f"{lag['events']} events behind ({lag.get('seconds', 0)} s)")

    def _destination(self, answer):
        destination = Destination.from_heartbeat(answer)
        if not destination.host or not 1 <= destination.port <= 65535:
            raise Refused("the portal gave no syslog destination for this agent")
        if destination.format not in FORMATS:
            raise Refused(f"the portal asks for the format “{destination.format}”, unknown here")
        return destination

    def _sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, deadline - time.monotonic()))
