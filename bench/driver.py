"""Requests through the real WSGI application, in this process, with no test client.

django.test.Client adds its own handler, signal hooks and cookie jar; building WSGI environs
by hand measures what gunicorn would call, minus the socket. The database connection stays
open between requests (the settings' CONN_MAX_AGE), as it does in a gunicorn worker.
"""

import io
import sys

from django.core.wsgi import get_wsgi_application

GENERIC_HOST = "portal.localhost"


class WsgiClient:
    def __init__(self):
        self.app = get_wsgi_application()

    def prepare(self, path, *, host=GENERIC_HOST, authorization=None, cookie=None):
        """Return a zero-argument function that makes this GET request and returns
        (status code, body). The environ is built once; each call gets a fresh copy."""
        route, _, query = path.partition("?")
        template = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": host,
            "HTTP_ACCEPT": "application/json",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if authorization:
            template["HTTP_AUTHORIZATION"] = authorization
        if cookie:
            template["HTTP_COOKIE"] = cookie
        app = self.app

        def request():
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO(b"")
            status = []
            result = app(environ, lambda line, headers, exc_info=None: status.append(line))
            try:
                body = b"".join(result)
            finally:
                result.close()  # fires request_finished, as a WSGI server does
            return int(status[0][:3]), body

        return request


def expect_ok(request, label):
    """Fail loudly when a variant does not answer 200: timing a 401 would flatter it."""
    code, body = request()
    if code != 200:
        raise SystemExit(f"{label}: expected 200, got {code}: {body[:200]!r}")
    return body
