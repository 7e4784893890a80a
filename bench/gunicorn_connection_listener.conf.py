"""gunicorn.conf.py with the host's listener waiting and acknowledging through psycopg's
Connection, as before web.listening (bench/connection_listener.py; bench/fleet.py measures
both). Not for production."""

import runpy

_project = runpy.run_path("gunicorn.conf.py")
globals().update({name: value for name, value in _project.items() if not name.startswith("__")})


def when_ready(server):
    from bench import connection_listener

    connection_listener.install()
    _project["when_ready"](server)
