"""Pages for SIEM agents and log collectors: one set of views, configured per kind."""

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tenants.permissions import may_manage_integrations
from web.access import allowed
from web.http import client_ip

from . import services
from .forms import LogCollectorForm, SiemAgentForm
from .models import LogCollector, SiemAgent


@dataclass(frozen=True)
class Kind:
    slug: str
    model: type
    form: type
    title: str
    singular: str
    lede: str
    endpoint: str
    breadcrumb: tuple
    # Where its token is accepted, for the add dialog's help.
    works_on: str
    # The add dialog's button: it creates the integration (its token is shown next).
    add_button: str
    # The program that uses the token, when the product ships one (its command after adding).
    program: str = ""

    @property
    def plural(self):
        # "No SIEM agents yet": the title lowercased would read "siem agents".
        return f"{self.singular}s"

    def url(self, name, *args):
        return reverse(f"integrations:{self.slug}-{name}", args=args)


KINDS = {
    "siem": Kind(
        "siem",
        SiemAgent,
        SiemAgentForm,
        "SIEM agents",
        "SIEM agent",
        "SIEM agents forward your tenant's audit events to your SIEM. Each authenticates with "
        "a token of its own, accepted only on the SIEM heartbeat and the SIEM event feed.",
        "api/v1/siem/heartbeat/",
        ("Settings", "Security extensions"),
        works_on="the SIEM heartbeat and the SIEM event feed",
        add_button="Add agent",
        program="portal-siem-agent",
    ),
    "collectors": Kind(
        "collectors",
        LogCollector,
        LogCollectorForm,
        "Log collectors",
        "log collector",
        "Log collectors receive logs from your devices over FTP or syslog. Each authenticates "
        "with a token of its own, accepted only on the log-collector heartbeat endpoint.",
        "api/v1/log-collectors/heartbeat/",
        ("Settings",),
        works_on="the log collector heartbeat endpoint",
        add_button="Add collector",
    ),
}


def _integrations(request, kind):
    return kind.model.objects.filter(tenant=request.tenant).select_related("token", "created_by")


def _listed(request, kind):
    integrations = _integrations(request, kind)
    # Health is known for SIEM agents only: they report their delivery on the heartbeat.
    return integrations.with_health() if kind.model is SiemAgent else integrations


def _render_list(request, kind, *, form=None, issued=None, dialog=None, status=200, **extra):
    context = {
        "kind": kind,
        "integrations": _listed(request, kind),
        "form": form or kind.form(tenant=request.tenant),
        "issued": issued,
        "dialog": dialog,
        "list_url": kind.url("list"),
        "reveal_endpoint": kind.endpoint,
        "reveal_intro": f"The {kind.singular}'s token",
        **extra,
    }
    return render(request, "integrations/list.html", context, status=status)


@allowed(may_manage_integrations)
def integration_list(request, kind):
    return _render_list(request, KINDS[kind])


@allowed(may_manage_integrations)
@require_http_methods(["GET", "POST"])
@never_cache
def integration_add(request, kind):
    kind = KINDS[kind]
    if request.method == "GET":
        return _render_list(request, kind, dialog="add")
    form = kind.form(request.POST, tenant=request.tenant)
    if not form.is_valid():
        return _render_list(request, kind, form=form, dialog="add", status=400)
    _, issued = services.integration_create(
        form=form, by=request.user, client_ip=client_ip(request)
    )
    extra = {}
    if kind.program:
        # The word TOKEN, not the secret: the secret is shown once, in its own field above.
        tenant_url = request.build_absolute_uri("/").rstrip("/")
        extra["reveal_example"] = f"{kind.program} --url {tenant_url} --token TOKEN"
        extra["reveal_example_label"] = "Run it on a machine that reaches your SIEM:"
    return _render_list(request, kind, issued=issued, **extra)


@allowed(may_manage_integrations)
@require_http_methods(["GET", "POST"])
@never_cache
def integration_regenerate(request, kind, public_id):
    kind, integration, confirmation = _confirmed(request, kind, public_id, "regenerate")
    if confirmation:
        return confirmation
    issued = services.integration_regenerate(
        integration=integration, by=request.user, client_ip=client_ip(request)
    )
    return _render_list(request, kind, issued=issued)


@allowed(may_manage_integrations)
@require_http_methods(["GET", "POST"])
def integration_delete(request, kind, public_id):
    kind, integration, confirmation = _confirmed(request, kind, public_id, "delete")
    if confirmation:
        return confirmation
    services.integration_delete(
        integration=integration, by=request.user, client_ip=client_ip(request)
    )
    messages.success(
        request, f"Deleted {kind.singular} “{integration.name}”; its token no longer works."
    )
    return redirect(kind.url("list"))


def _confirmed(request, kind, public_id, action):
    """(kind, integration, None) for a POST; for a GET, the page that asks to confirm the
    action (a destructive one is never done by a link)."""
    kind = KINDS[kind]
    integration = get_object_or_404(_integrations(request, kind), public_id=public_id)
    if request.method != "GET":
        return kind, integration, None
    context = {"kind": kind, "integration": integration, "action": action}
    return kind, integration, render(request, "integrations/confirm.html", context)
