"""gunicorn settings, from the environment like the rest of the configuration."""

import multiprocessing
import os
import signal
from pathlib import Path

import environ

# The optional .env file, as portal/settings.py reads it (real environment variables win):
# gunicorn's own settings and log format then follow the same configuration as Django's.
environ.Env.read_env(Path(__file__).resolve().parent / ".env")

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
wsgi_app = "portal.wsgi:application"
accesslog = "-"
# The access log never holds the Authorization header, and a token in a URL is redacted.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
# Both logs in the portal's format (LOG_FORMAT plain or json) and redacted like its own.
logger_class = "web.serverlog.GunicornLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27 opens a control socket at one fixed path per user by default; several servers
# on a host (make run beside a test run) would share it. The portal does not use it.
control_socket_disable = True


def _drain_seconds():
    text = os.environ.get("DRAIN_SECONDS", "10")
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ValueError(f"DRAIN_SECONDS must be seconds from 0 to 3600, not {text!r}")
    return seconds


# How long a host keeps serving after SIGTERM while /readyz answers 503, so that load balancers
# take it out before it stops (CONTRACT §14). Then the usual graceful stop: graceful_timeout
# more at most for requests in flight.
DRAIN_SECONDS = _drain_seconds()

# Load the app once in the master and warm it there (portal.warmup): every worker forks from
# it, so its first request, at boot and after `kill -HUP`, is as fast as the rest. The flip
# side: `kill -HUP` no longer loads new code; restart gunicorn to deploy.
preload_app = True


def on_starting(server):
    # gunicorn's own TERM closes the listening sockets at once, while a load balancer may
    # still send new connections; the master drains first. Its signal handler only queues
    # TERM; handle_term runs in its main loop, where logging and timers are safe.
    from web import draining  # mapped here, in the master, before any worker forks

    stop = server.handle_term

    def handle_term():
        if draining.draining() or DRAIN_SECONDS == 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            # The end of the drain, or a second TERM: gunicorn's graceful stop, now (it
            # raises StopIteration, the arbiter's way out of its loop).
            return stop()
        draining.begin()
        server.log.info("Draining: /readyz answers 503; stopping in %g s", DRAIN_SECONDS)
        signal.signal(signal.SIGALRM, lambda *_: server.signal(signal.SIGTERM, None))
        signal.setitimer(signal.ITIMER_REAL, DRAIN_SECONDS)

    server.handle_term = handle_term


def when_ready(server):
    from portal.warmup import warm_up
    from web import invalidation

    warm_up()
    # One invalidation listener for the host, in the master, sharing a board with every
    # worker it forks: a write waits for one acknowledgement per host, not per worker.
    invalidation.serve_host()


def on_exit(server):
    from web import invalidation

    invalidation.stop_host()


def pre_fork(server, worker):
    # A connection opened in the master would be shared by every worker forked from it.
    from django.db import connections

    connections.close_all()


def post_worker_init(worker):
    # Each worker hears cache invalidations from before its first request (web.invalidation),
    # and writes its token usage from a thread of its own, never in a request (tokens.pending).
    from tokens import pending
    from web import invalidation

    invalidation.start()
    pending.start()


def worker_exit(server, worker):
    # What the worker still holds of its token usage is written before it goes.
    from tokens import pending
    from web import invalidation

    pending.stop()
    invalidation.stop()
