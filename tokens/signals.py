"""Safety net for the caches: any saved or deleted user, token or tenant (Django admin
included) makes its tenant's cached tokens and counts stale on every process. Code paths that
use QuerySet.update() on something authentication reads (Token.revoke, token_rotate) call
authcache.invalidate() themselves."""

from django.db.models.signals import post_delete, post_save

from . import authcache


def _tenant_of(instance):
    from tenants.models import Tenant

    return instance.pk if isinstance(instance, Tenant) else instance.tenant_id


# Saved at every sign-in (django.contrib.auth's update_last_login): nothing cached reads it,
# and announcing it would make every sign-in wait for every host and empty its tenant's cache.
UNCACHED_FIELDS = frozenset({"last_login"})


def _saved(sender, instance, created=False, update_fields=None, **kwargs):
    from .models import Token

    if update_fields and set(update_fields) <= UNCACHED_FIELDS:
        return
    if created and isinstance(instance, Token):
        authcache.counts_changed(instance.tenant_id)  # a new token: no cached answer changes
    else:
        authcache.invalidate(_tenant_of(instance))


def _deleted(sender, instance, **kwargs):
    authcache.invalidate(_tenant_of(instance))


def connect():
    from tenants.models import Tenant, User

    from .models import Token

    for model in (User, Token, Tenant):
        post_save.connect(_saved, sender=model, dispatch_uid=f"authcache-save-{model}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"authcache-del-{model}")
