"""The invalidation listener's loop as it was before web.listening: waiting and acknowledging
through psycopg's Connection (a notifies() generator per wait, a cursor per acknowledgement).
bench/gunicorn_connection_listener.conf.py runs a host with it, so that bench/fleet.py measures
both side by side. Not for production."""

import contextlib
import time

from web import invalidation
from web.invalidation import CHANNEL, HEARTBEAT, LEASE, LISTENERS, STOP_CHECK


class _ConnectionOnly:
    """Registration's view of the wire: what the Connection keeps aside, this loop reads
    itself with conn.notifies()."""

    @staticmethod
    def kept_aside():
        return []


def serve(self):
    import psycopg

    with psycopg.connect(**{"connect_timeout": 5, **self.params}, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(f"LISTEN {CHANNEL}")
        started = time.monotonic()
        listener_id, acked_order = self._register(conn, _ConnectionOnly())
        self._trust_from(started)
        acked = self._heard_mark
        self._heard_order = max(self._heard_order, acked_order)
        renewed = started
        while not self._stopping.is_set():
            behind = self._heard_mark > acked or self._heard_order > acked_order
            wait = 0 if behind else HEARTBEAT - (time.monotonic() - renewed)
            for notify in conn.notifies(timeout=min(max(wait, 0), STOP_CHECK), stop_after=1):
                self._hear(notify.payload)
            behind = self._heard_mark > acked or self._heard_order > acked_order
            if behind or time.monotonic() - renewed >= HEARTBEAT:
                renewed = time.monotonic()
                acked, acked_order = self._heard_mark, self._heard_order
                cursor = conn.execute(
                    f"UPDATE {LISTENERS} SET acked = GREATEST(acked, %s), "  # noqa: S608
                    "acked_ordered = GREATEST(acked_ordered, %s), "
                    "lease_until = now() + make_interval(secs => %s) WHERE id = %s",
                    [acked, acked_order, LEASE, listener_id],
                    prepare=True,
                )
                if cursor.rowcount == 0:
                    listener_id, _ = self._register(conn, _ConnectionOnly())
                for notify in conn.notifies(timeout=0):
                    self._hear(notify.payload)
                self._trust_from(renewed)
        with contextlib.suppress(Exception):
            conn.execute(f"DELETE FROM {LISTENERS} WHERE id = %s", [listener_id])  # noqa: S608


def install():
    invalidation.Listener._serve = serve
