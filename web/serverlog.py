"""gunicorn's error and access logs in the portal's format (LOG_FORMAT) and redacted like
every other line (web.logs): a token in a URL, `?token=atp_...` or `/x/atp_...`, never
reaches the access log. gunicorn.conf.py names this class as its logger_class.

In JSON, an access line carries its facts as fields: remote_addr, method, path (with its
query string, redacted), status, bytes and duration (seconds)."""

import os
import traceback

from gunicorn import glogging

from web.logs import JsonLines, PlainLines, RedactSecrets


def formatter():
    # Read as portal.settings reads it; gunicorn logs before (and apart from) Django's
    # settings, and gunicorn.conf.py has loaded .env by then. A bad value stops Django with
    # its own message a moment later.
    return JsonLines() if os.environ.get("LOG_FORMAT", "plain") == "json" else PlainLines()


class GunicornLogger(glogging.Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # gunicorn's handlers (errorlog and accesslog, "-" or files; it also runs this on a
        # configuration reload, with new handlers).
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter())
                if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                    handler.addFilter(RedactSecrets())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        status = str(atoms["s"])
        fields = {
            "remote_addr": atoms["h"],
            "method": atoms["m"],
            "path": environ.get("RAW_URI", ""),  # redacted by the formatter
            "status": int(status) if status.isdigit() else status,
            "bytes": atoms["B"],
            "duration": round(request_time.total_seconds(), 6),
        }
        try:
            self.access_log.info(self.cfg.access_log_format, atoms, extra={"fields": fields})
        except Exception:
            self.error(traceback.format_exc())
