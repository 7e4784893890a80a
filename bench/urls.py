"""The portal's URLs plus the bench endpoints. Only the /api/ route passes through
ApiTokenMiddleware and, like every API endpoint, checks what it accepts (web.api.api_view);
the others are outside /api/ so that middleware leaves them alone."""

from django.urls import include, path

from portal.urls import handler400, handler403, handler404, handler500  # noqa: F401

from . import views
from .variants import DRF_PLAIN, DRF_TOKEN, KNOX_TOKEN, OURS, PLAIN

urlpatterns = [
    path(PLAIN.lstrip("/"), views.ping),
    path(OURS.lstrip("/"), views.api_ping),
    path(DRF_PLAIN.lstrip("/"), views.drf_view(views.DrfPing)),
    path(DRF_TOKEN.lstrip("/"), views.drf_view(views.DrfTokenPing)),
    path(KNOX_TOKEN.lstrip("/"), views.drf_view(views.KnoxTokenPing)),
    path("", include("portal.urls")),
]
