"""gunicorn.conf.py as shipped, plus two hooks for tests/test_gunicorn_preload.py: the master
opens a database connection once warm (as a careless warm-up step would), and every worker
records, right after the fork, what it inherited from the master."""

import json
import os
import runpy
import sys
from pathlib import Path

_shipped = runpy.run_path("gunicorn.conf.py")
globals().update({name: value for name, value in _shipped.items() if not name.startswith("__")})


def when_ready(server):
    _shipped["when_ready"](server)
    from django.db import connection

    connection.ensure_connection()


def post_fork(server, worker):
    from django.db import connections
    from django.template import engines

    inherited = {
        "views imported": "identity.scim" in sys.modules,
        "templates compiled": sorted(
            engines["django"].engine.template_loaders[0].get_template_cache
        ),
        "open connections": [
            each.alias
            for each in connections.all(initialized_only=True)
            if each.connection is not None
        ],
    }
    Path(os.environ["PROBE_DIR"], f"{os.getpid()}.json").write_text(json.dumps(inherited))
