from django.urls import path

from . import views

app_name = "integrations"


def routes(kind, prefix):
    extra = {"kind": kind}
    return [
        path(prefix, views.integration_list, extra, name=f"{kind}-list"),
        path(f"{prefix}new/", views.integration_add, extra, name=f"{kind}-add"),
        path(
            f"{prefix}<uuid:public_id>/regenerate/",
            views.integration_regenerate,
            extra,
            name=f"{kind}-regenerate",
        ),
        path(
            f"{prefix}<uuid:public_id>/delete/",
            views.integration_delete,
            extra,
            name=f"{kind}-delete",
        ),
    ]


urlpatterns = [
    *routes("siem", "security-extensions/siem-agents/"),
    *routes("collectors", "log-collectors/"),
]
