"""Settings › Security extensions › Service accounts: full admins list them, create one and
name a new sponsor (CONTRACT §15). The rules are tenants.services'; these views only ask."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import Via
from web.access import allowed
from web.http import client_ip

from .forms import ServiceAccountForm, SponsorForm
from .models import ServiceAccount
from .permissions import may_manage_service_accounts
from .services import service_account_create, service_account_set_sponsor


def _render(request, *, form=None, status=200):
    accounts = ServiceAccount.objects.filter(tenant=request.tenant).select_related(
        "user", "sponsor"
    )
    context = {
        "accounts": accounts,
        "form": form or ServiceAccountForm(tenant=request.tenant, creator=request.user),
        "sponsor_form": SponsorForm(tenant=request.tenant),
    }
    return render(request, "tenants/service_accounts.html", context, status=status)


@allowed(may_manage_service_accounts)
@require_http_methods(["GET", "POST"])
def service_accounts(request):
    if request.method == "GET":
        return _render(request)
    form = ServiceAccountForm(request.POST, tenant=request.tenant, creator=request.user)
    if form.is_valid():
        try:
            account = service_account_create(
                tenant=request.tenant,
                **form.cleaned_data,
                by=request.user,
                via=Via.PAGE,
                client_ip=client_ip(request),
            )
        except ValidationError as error:
            # The name's rules and its uniqueness, or the sponsor's (sponsor_refusal).
            field = "sponsor" if "sponsor" in " ".join(error.messages) else "name"
            form.add_error(field, error.messages)
        else:
            messages.success(request, f"Created service account {account.name}.")
            return redirect("service-accounts:list")
    return _render(request, form=form, status=400)


@allowed(may_manage_service_accounts)
@require_POST
def service_account_sponsor(request, name):
    account = get_object_or_404(
        ServiceAccount.objects.select_related("user", "sponsor", "tenant"),
        tenant=request.tenant,
        name=name,
    )
    form = SponsorForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        messages.error(request, f"Choose an active person to sponsor {account.name}.")
        return redirect("service-accounts:list")
    service_account_set_sponsor(
        account=account,
        sponsor=form.cleaned_data["sponsor"],
        by=request.user,
        via=Via.PAGE,
        client_ip=client_ip(request),
    )
    messages.success(request, f"{form.cleaned_data['sponsor'].email} now sponsors {account.name}.")
    return redirect("service-accounts:list")
