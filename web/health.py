"""The probes for load balancers and orchestrators (CONTRACT §10, §14), and what counts as
"the database is down".

- `GET /healthz`: 200 when the database (and Redis, when the cache is Redis) answers.
- `GET /livez`: 200 while the process answers; it never touches the database, so an outage
  of the database never gets healthy processes restarted.
- `GET /readyz`: 200 when this process should get traffic: the database answers, its cache
  invalidation is trusted (web.invalidation) and the host is not draining (web.draining).

A failing probe answers 503 naming each failing part. The probes are answered by the first
middleware, before SecurityMiddleware's HTTPS redirect and before anything calls
request.get_host() (Django's ALLOWED_HOSTS check), so a load balancer may probe a host by its
IP address over plain HTTP. They need no session, no authentication and no rate limit, and
cost at most one `SELECT 1` (plus a Redis PING for /healthz when the cache is Redis).
"""

import logging
import threading

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import Error as DatabaseLibraryError
from django.db import InterfaceError, OperationalError, connection
from django.http import JsonResponse

from web import draining, invalidation

logger = logging.getLogger(__name__)


def database_unavailable(error):
    """True for the errors of a database that cannot be reached or talked to, as opposed to
    a bug in a query: the request deserves a 503 and the log one line, not a traceback."""
    return isinstance(error, OperationalError | InterfaceError)


def first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class HealthCheckMiddleware:
    """First in settings.MIDDLEWARE; every other request passes straight through."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        checks = PROBES.get(request.path_info)
        if checks is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"detail": "Method not allowed."}, status=405)
            response["Allow"] = "GET, HEAD"
        else:
            response = probe_response(checks())
        response["Cache-Control"] = "no-store"
        # Django logs every 5xx as an ERROR line (django.request); a failing probe is logged
        # here instead, once per change of state.
        response._has_been_logged = True
        return response


def probe_response(checks):
    """200 {"status": "ok"}, or 503 naming each failing part of checks ((name, check)
    pairs). (gunicorn drops the body of a HEAD response.)"""
    failing = [name for name, passes in checks if not passes()]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})


def health_checks():
    yield "database", database_answers
    if isinstance(caches["default"], RedisCache):
        yield "redis", redis_answers


def liveness_checks():
    return ()  # answering at all is the proof; never the database


def readiness_checks():
    yield "draining", lambda: not draining.draining()
    yield "database", database_answers
    yield "invalidation", invalidation_trusted


PROBES = {"/healthz": health_checks, "/livez": liveness_checks, "/readyz": readiness_checks}


def database_answers():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseLibraryError as error:
        return _noted("database", error)
    return _noted("database")


def invalidation_trusted():
    """Whether this process hears every other process's writes, so its caches may answer
    (web.invalidation); with TOKEN_CACHE off it caches nothing and need not."""
    return settings.TOKEN_CACHE != "on" or invalidation.channel().trusted()


def redis_answers():
    # The cache's own client, with its socket timeouts (portal.settings.REDIS_TIMEOUT), so an
    # unreachable Redis reads as "redis" well inside a load balancer's probe timeout.
    try:
        caches["default"]._cache.get_client().ping()
    except Exception as error:  # redis.RedisError, OSError: any failure means "not healthy"
        return _noted("redis", error)
    return _noted("redis")


_failing = set()  # the parts this process last found failing
_failing_lock = threading.Lock()


def _noted(part, error=None):
    """Whether part answers (error is None), logged when that changes, not on every probe:
    anyone may probe, every few seconds, and an outage must not flood the log (review 3,
    finding 10). Returns True when it answers."""
    with _failing_lock:
        changed = (error is not None) != (part in _failing)
        if error is not None:
            _failing.add(part)
        else:
            _failing.discard(part)
    if changed and error is not None:
        logger.warning("health check: %s unavailable: %s", part, first_line(error))
    elif changed:
        logger.info("health check: %s answers again", part)
    return error is None
