"""A gunicorn master forks workers while its invalidation listener thread may be logging: a
fork waits until the line is written (web.invalidation._no_fork), or the new worker could
hang on the stream's lock at its own first log line."""

import os
import threading
import time

from web import invalidation


def test_a_fork_waits_while_the_listener_writes_a_log_line():
    invalidation._no_fork.acquire()  # as the listener does around its log lines
    threading.Timer(0.3, invalidation._no_fork.release).start()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert time.monotonic() - started >= 0.25
    # Released in the parent and in the child alike: the next fork does not wait.
    assert invalidation._no_fork.acquire(timeout=1)
    invalidation._no_fork.release()
