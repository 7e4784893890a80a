"""gunicorn.conf.py as it was before one listener per host: each worker runs its own
invalidation listener and acknowledges every write (bench/fleet.py measures both). Not for
production."""

import runpy

globals().update(
    {
        name: value
        for name, value in runpy.run_path("gunicorn.conf.py").items()
        if not name.startswith("__") and name not in ("when_ready", "on_exit")
    }
)


def when_ready(server):
    from portal.warmup import warm_up

    warm_up()
