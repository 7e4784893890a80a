"""Safety net for the token cache: any saved or deleted user, token or tenant (Django admin
included) empties it on every process. Code paths that use QuerySet.update() on something
authentication reads (Token.revoke, token_rotate) call authcache.invalidate() themselves."""

from django.db.models.signals import post_delete, post_save

from . import authcache


def _invalidate(sender, **kwargs):
    authcache.invalidate()


def connect():
    from tenants.models import Tenant, User

    from .models import Token

    for model in (User, Token, Tenant):
        post_save.connect(_invalidate, sender=model, dispatch_uid=f"authcache-save-{model}")
        post_delete.connect(_invalidate, sender=model, dispatch_uid=f"authcache-del-{model}")
