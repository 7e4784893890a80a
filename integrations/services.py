from django.db import transaction
from django.utils.text import capfirst

from audit.models import Via
from tokens.services import token_issue, token_revoke, token_rotate


def integration_create(*, form, by, client_ip=None):
    """Save the integration from a valid form with a fresh token of its kind; return
    (integration, issued) where issued carries the one-time plaintext."""
    integration = form.save(commit=False)
    with transaction.atomic():
        issued = token_issue(
            owner=by,
            name=f"{capfirst(integration._meta.verbose_name)}: {integration.name}",
            kind=integration.token_kind,
            client_ip=client_ip,
        )
        integration.tenant = by.tenant
        integration.created_by = by
        integration.token = issued.token
        integration.save()
    return integration, issued


def integration_regenerate(*, integration, by, client_ip=None):
    """A new secret for the integration's token; the old one stops at once."""
    return token_rotate(token=integration.token, by=by, client_ip=client_ip)


def integration_delete(*, integration, by, client_ip=None):
    with transaction.atomic():
        token_revoke(
            token=integration.token,
            by=by,
            via=Via.PAGE,
            client_ip=client_ip,
            detail=f"{capfirst(integration._meta.verbose_name)} “{integration.name}” deleted.",
        )
        integration.delete()
