"""Bench settings: the hermetic test settings plus DRF, its authtoken app and knox, so the
portal's own auth is measured side by side with theirs in the same process and database.

DATABASE_URL comes from the environment (bench.run sets it per database), so the portal's
production database options (SQLite WAL, persistent connections, PostgreSQL health checks)
are exactly the ones measured.
"""

import warnings

from testbed.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "rest_framework.authtoken", "knox"]  # noqa: F405
ROOT_URLCONF = "bench.urls"

REST_FRAMEWORK = {
    # The portal's views answer JSON only; DRF's browsable API would be an unfair extra cost.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
REST_KNOX = {
    # Tokens that never expire and are never refreshed: knox's cheapest steady state, no
    # write per request, like our target.
    "TOKEN_TTL": None,
    "AUTO_REFRESH": False,
}

# STATIC_ROOT is only filled by collectstatic; whitenoise's warning about it is noise here.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
