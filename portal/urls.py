from django.contrib import admin
from django.urls import include, path

from identity.signin import PortalLoginView, PortalLogoutView
from tokens import overview

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", PortalLoginView.as_view(), name="login"),
    path("logout/", PortalLogoutView.as_view(), name="logout"),
    path("about/", views.about, name="about"),
    path("help/using-tokens/", views.help_tokens, name="help-tokens"),
    path("help/api/", views.help_api, name="help-api"),
    path("settings/", views.settings_index, name="settings"),
    path(
        "settings/security-extensions/",
        views.security_extensions,
        name="security-extensions",
    ),
    # Before the tokens' own: their <uuid:token_id>/ would not match "requests/" anyway.
    path("settings/security-extensions/api-tokens/requests/", include("approvals.urls")),
    path("settings/security-extensions/api-tokens/", include("tokens.urls")),
    path(
        "settings/security-extensions/service-accounts/", include("identity.service_account_urls")
    ),
    path("settings/security-extensions/api-usage/", overview.api_usage, name="usage-overview"),
    path("settings/", include("integrations.urls")),
    path("settings/audit-log/", include("audit.urls")),
    path("account/notifications/", include("notifications.urls")),
    path("api/", include("portal.api_urls")),
    path("", include("identity.urls")),  # SSO sign-in, Settings › Identity, SCIM at /scim/v2/
    path("admin/", admin.site.urls),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
