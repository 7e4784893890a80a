from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class WebConfig(AppConfig):
    """The bottom floor: web plumbing every app may use and that knows none of them."""

    name = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from web import migrating

        # sender=self: once per migrate (each app with models sends its own signal).
        pre_migrate.connect(migrating.limit, sender=self)
        post_migrate.connect(migrating.unlimit, sender=self)
