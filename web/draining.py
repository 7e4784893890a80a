"""Whether this host is draining (CONTRACT §14): gunicorn's master marks it when SIGTERM comes
(gunicorn.conf.py), and every worker's /readyz reads it (web.health).

One byte of shared anonymous memory, mapped when the master first imports this module, before
any worker forks: every worker, and one forked later to replace another, reads the master's
mark. Draining is one host's own state, so it lives with the host's processes, not in the
engines the hosts share.
"""

import mmap

_flag = mmap.mmap(-1, 1)  # MAP_SHARED: a fork shares it rather than copying it


def begin():
    _flag[0] = 1


def draining():
    return _flag[0] == 1
