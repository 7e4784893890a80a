"""gunicorn.conf.py without preloading and warming the app in the master: what every worker
did before (bench/first_request.py compares the two). Not for production."""

import runpy

globals().update(
    {
        name: value
        for name, value in runpy.run_path("gunicorn.conf.py").items()
        if not name.startswith("__") and name not in ("when_ready", "pre_fork")
    }
)
preload_app = False
