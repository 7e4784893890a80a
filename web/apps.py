from django.apps import AppConfig


class WebConfig(AppConfig):
    """The bottom floor: web plumbing every app may use and that knows none of them."""

    name = "web"
    default_auto_field = "django.db.models.BigAutoField"
