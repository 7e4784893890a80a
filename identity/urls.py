from django.urls import path, re_path

from . import scim, views

app_name = "identity"

urlpatterns = [
    path("login/sso/", views.sso_begin, name="sso-begin"),
    path("login/sso/callback/", views.sso_callback, name="sso-callback"),
    path("settings/identity/", views.identity_settings, name="settings"),
    path("settings/identity/role-mapping/", views.role_mapping, name="role-mapping"),
    path("settings/identity/tokens/new/", views.provisioning_token_add, name="token-add"),
    path(
        "settings/identity/tokens/<uuid:token_id>/revoke/",
        views.provisioning_token_revoke,
        name="token-revoke",
    ),
    # RFC 7644 §3.2: the endpoints have no trailing slash, so CommonMiddleware's slash
    # redirect never applies here.
    re_path(r"^scim/v2(?P<path>/.*)?$", scim.scim_endpoint, name="scim"),
    re_path(r"^scim/(?P<rest>.*)$", scim.scim_elsewhere),
]
