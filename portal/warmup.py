"""Do once, in gunicorn's master (preload_app), what every worker's first request would
otherwise do for itself: import the URLconf and every view (the SCIM server's pydantic models
alone take about a second), compile the templates, load the translation catalogues and build
the OpenAPI document. Workers fork from the warm master, at boot and after every `kill -HUP`,
so their first request is as fast as the rest. Nothing here touches the database: the master
must start while it is down, and must hold no connection when it forks.
"""

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import get_template
from django.urls import URLResolver, get_resolver, reverse
from django.utils import translation

from .openapi import openapi_document


def warm_up():
    with translation.override(settings.LANGUAGE_CODE):
        resolver = get_resolver()
        _import_views(resolver)
        for status in (400, 403, 404, 500):
            resolver.resolve_error_handler(status)
        reverse("login")  # builds the resolver's reverse lookup tables
        _compile_templates()
        openapi_document(_request_to_the_portal())


def _import_views(resolver):
    """Each resolver's url_patterns imports its URLconf module and, with it, its views."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            _import_views(pattern)


def _compile_templates():
    """The project's own templates (templates/); the cached loader keeps them compiled."""
    for engine in settings.TEMPLATES:
        for directory in map(Path, engine["DIRS"]):
            for path in sorted(directory.rglob("*.html")):
                get_template(path.relative_to(directory).as_posix())


def _request_to_the_portal():
    request = HttpRequest()
    request.META.update(
        HTTP_HOST=settings.PORTAL_DOMAIN,
        SERVER_NAME=settings.PORTAL_DOMAIN,
        SERVER_PORT="443" if settings.PORTAL_SCHEME == "https" else "80",
    )
    return request
