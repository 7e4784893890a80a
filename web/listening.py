"""An invalidation listener's connection, spoken to through libpq directly (psycopg.pq).

Every host's listener wakes and acknowledges once per invalidating write in the whole fleet,
so its cost per write is multiplied by the number of hosts, on the CPUs the hosts share with
PostgreSQL. Through psycopg's Connection (a notifies() generator per wait, a cursor per
acknowledgement) a host's listener process spent 400 to 450 µs of CPU per write in the fleet
bench; through these few libpq calls, 210 to 280 µs (docs/performance.md, "Fleet growth").
The statements that run once per session (LISTEN, registration) still go through the
Connection: SessionWire.kept_aside() then takes up whatever notifications the Connection
received meanwhile.
"""

import select
import time

ACK = b"portal_listener_ack"


class SessionWire:
    """Waiting for notifications and acknowledging them, on an open psycopg connection that
    is otherwise idle (autocommit, no statement running)."""

    def __init__(self, conn, ack_sql, timeout):
        self.conn = conn
        self.pgconn = conn.pgconn
        self.timeout = timeout  # an acknowledgement answered later than this is an outage
        self._prepared = False
        self._ack_sql = ack_sql

    def wait(self, timeout):
        """The payloads of the notifications that arrive within timeout seconds (none if
        none does)."""
        ready, _, _ = select.select([self.pgconn.socket], [], [], timeout)
        if ready:
            self.pgconn.consume_input()  # raises psycopg.OperationalError on a lost server
        return self.heard()

    def kept_aside(self):
        """The payloads the Connection received while it ran a statement (it keeps them from
        libpq's queue, where heard() looks)."""
        return [notify.payload for notify in self.conn.notifies(timeout=0)]

    def heard(self):
        """The payloads already received."""
        from psycopg import pq

        payloads = []
        while (notify := self.pgconn.notifies()) is not None:
            payloads.append(notify.extra.decode())
        if self.pgconn.status != pq.ConnStatus.OK:
            raise self._error("the connection to PostgreSQL was lost")
        return payloads

    def ack(self, *params):
        """Run the acknowledgement (prepared once per session) with these parameters; the
        number of rows it updated."""
        if not self._prepared:
            self.pgconn.send_prepare(ACK, self._ack_sql)
            self._result()
            self._prepared = True
        self.pgconn.send_query_prepared(ACK, [str(param).encode() for param in params])
        return self._result()

    def _result(self):
        from psycopg import pq

        deadline = time.monotonic() + self.timeout
        self._flush(deadline)
        rows, error = 0, None
        while True:
            self.pgconn.consume_input()
            if self.pgconn.is_busy():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._lost("PostgreSQL did not answer an acknowledgement in time")
                select.select([self.pgconn.socket], [], [], remaining)
                continue
            result = self.pgconn.get_result()
            if result is None:
                break
            if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
                error = result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
            elif result.command_tuples is not None:
                rows = result.command_tuples
        if error is not None:
            raise self._error((error or b"").decode(errors="replace"))
        return rows

    def _flush(self, deadline):
        # A statement longer than the socket's buffer is sent in several writes.
        while self.pgconn.flush():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._lost("PostgreSQL did not take an acknowledgement in time")
            select.select([], [self.pgconn.socket], [], remaining)

    def _lost(self, message):
        # A statement is still running on it: the session is of no more use (the listener
        # opens another).
        self.conn.close()
        return self._error(message)

    @staticmethod
    def _error(message):
        import psycopg

        return psycopg.OperationalError(message)
