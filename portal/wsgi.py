import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    # Stops gunicorn with one line naming the variable, not a traceback per worker.
    raise SystemExit(f"Configuration error: {error}") from None
