"""Logging that never carries a secret: a filter that redacts anything shaped like a token,
a digest or an Authorization header, and an optional JSON-lines formatter (LOG_FORMAT=json).
A request failed by a database outage is logged as one line, not a traceback."""

import json
import logging
import re

from web.health import database_unavailable, first_line

SECRET_PATTERNS = re.compile(
    r"atp_[0-9A-Za-z]{4,}"  # a token, whole or in part
    r"|\b[0-9a-f]{64}\b"  # a SHA-256 digest
    r"|(?i:authorization)[\"']?\s*[:=]\s*[\"']?[^\s\"',}]+(?:\s+[^\s\"',}]+)?",
)


def redact(text):
    return SECRET_PATTERNS.sub("[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class DatabaseUnavailable(logging.Filter):
    """For django.request: a request that failed because the database cannot be reached is
    logged as one line naming the cause; its traceback says nothing more and an outage would
    repeat it for every request."""

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if database_unavailable(error):
            request_line = record.getMessage()
            record.msg = "database unavailable: %s (%s)"
            record.args = (first_line(error), request_line)
            record.exc_info = record.exc_text = None
        return True


class PlainLines(logging.Formatter):
    """LOG_FORMAT=plain: time, level, logger and message, for Django and gunicorn alike."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")


class JsonLines(logging.Formatter):
    """LOG_FORMAT=json: one object per record. A record may carry more fields in `fields`
    (gunicorn's access log: web.serverlog); every string is redacted, whatever field it
    is in."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        entry = {k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}
        return json.dumps(entry, ensure_ascii=False)
