"""RFC 5424 messages over TCP (optionally TLS) with RFC 6587 octet-counting framing, and the
check that tells the agent when a batch has reached the receiver."""

import contextlib
import fcntl
import json
import re
import select
import socket
import ssl
import struct
import termios
import time
from dataclasses import dataclass

APP_NAME = "api-token-portal"
FACILITY_LOG_AUDIT = 13
# The 7th CEF header field; header fields escape only "\" and "|".
CEF_SEVERITY = re.compile(r"^CEF:0(?:\|(?:\\.|[^|\\])*){5}\|(\d+)\|")


@dataclass(frozen=True)
class Destination:
    host: str
    port: int
    format: str
    tls: bool

    @classmethod
    def from_heartbeat(cls, answer):
        destination = answer.get("destination") or {}
        return cls(
            host=str(destination.get("host", "")),
            port=int(destination.get("port", 0)),
            format=str(destination.get("format", "")),
            tls=bool(destination.get("tls", False)),
        )

    def __str__(self):
        return f"{self.host}:{self.port} ({self.format.upper()}{', TLS' if self.tls else ''})"


def syslog_severity(cef):
    """CEF's 0-10 scale on syslog's: 9-10 critical, 7-8 warning, 4-6 notice, else informational."""
    match = CEF_SEVERITY.match(cef)
    score = int(match.group(1)) if match else 0
    if score >= 9:
        return 2
    if score >= 7:
        return 4
    return 5 if score >= 4 else 6


def _header_field(value, limit):
    """An RFC 5424 header field: printable US-ASCII without spaces, or "-"."""
    value = "".join(c for c in str(value) if "!" <= c <= "~")[:limit]
    return value or "-"


def message(event, *, format, hostname):
    """One event as an RFC 5424 syslog message. The body is the portal's own CEF line, or the
    event as one line of JSON (everything the feed gives but the CEF copy)."""
    if format == "json":
        body = json.dumps(
            {key: value for key, value in event.items() if key != "cef"},
            ensure_ascii=False,
            separators=(",", ":"),
        )
    else:
        body = event["cef"]
    priority = FACILITY_LOG_AUDIT * 8 + syslog_severity(event["cef"])
    header = " ".join(
        [
            f"<{priority}>1",
            _header_field(event["time"], 64),
            _header_field(hostname, 255),
            APP_NAME,
            "-",
            _header_field(event["action"], 32),
            "-",
        ]
    )
    return f"{header} {body}".encode()


def frame(raw):
    """RFC 6587 octet counting: the length, a space, the message; so a message may hold any
    byte, a line break included."""
    return b"%d %s" % (len(raw), raw)


class ReceiverError(Exception):
    pass


class Receiver:
    """A connection to the syslog receiver, opened on first use and again after a failure."""

    def __init__(self, destination, *, ca_file=None, timeout=30):
        self.destination, self.ca_file, self.timeout = destination, ca_file, timeout
        self.socket = None

    def send(self, messages):
        """Send a batch and return once the receiver's TCP stack has acknowledged every byte
        and the connection is still open; anything less raises ReceiverError, and the caller
        sends the batch again (at least once: duplicates, never loss)."""
        try:
            if self.socket is None or not self._open():
                self.close()
                self._connect()
            self.socket.sendall(b"".join(frame(raw) for raw in messages))
            self._wait_acknowledged()
            if not self._open():
                raise ReceiverError("the receiver closed the connection")
        except ReceiverError:
            self.close()
            raise
        except (OSError, ssl.SSLError) as error:
            self.close()
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise ReceiverError(f"syslog receiver {self.destination}: {reason}") from None

    def close(self):
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.close()
            self.socket = None

    def _connect(self):
        address = (self.destination.host, self.destination.port)
        connection = socket.create_connection(address, timeout=self.timeout)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self.destination.tls:
            context = ssl.create_default_context(cafile=self.ca_file)
            try:
                connection = context.wrap_socket(connection, server_hostname=self.destination.host)
            except (OSError, ssl.SSLError):
                connection.close()
                raise
        self.socket = connection

    def _open(self):
        """False once the receiver has closed or reset the connection. A receiver sends
        nothing back, so anything readable is its end-of-stream or an error."""
        readable, _, _ = select.select([self.socket], [], [], 0)
        if not readable:
            return True
        try:
            self.socket.setblocking(False)
            try:
                if isinstance(self.socket, ssl.SSLSocket):
                    # TLS 1.3 servers send session tickets after the handshake: reading
                    # consumes those records and raises SSLWantReadError while it is open.
                    return self.socket.recv(1) != b""
                return self.socket.recv(1, socket.MSG_PEEK) != b""
            finally:
                self.socket.setblocking(True)
                self.socket.settimeout(self.timeout)
        except (BlockingIOError, ssl.SSLWantReadError):
            return True
        except OSError:  # reset, or TLS closed (SSLZeroReturnError, SSLEOFError)
            return False

    def _wait_acknowledged(self):
        """Linux counts sent-but-unacknowledged bytes (SIOCOUTQ): zero means the receiver's
        machine has the whole batch. Elsewhere the check is skipped."""
        deadline = time.monotonic() + self.timeout
        buffer = bytearray(4)
        while True:
            try:
                fcntl.ioctl(self.socket.fileno(), termios.TIOCOUTQ, buffer)
            except OSError:
                return
            if struct.unpack("i", buffer)[0] == 0:
                error = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    raise OSError(error, "connection failed after sending")
                return
            if time.monotonic() > deadline:
                raise ReceiverError(
                    f"syslog receiver {self.destination}: did not take the batch in "
                    f"{self.timeout} s"
                )
            time.sleep(0.001)
