from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django admin with the portal's site: platform operators only (portal.admin_site)."""

    default = False  # named in INSTALLED_APPS; "portal" itself stays PortalConfig
    default_site = "portal.admin_site.PortalAdminSite"
