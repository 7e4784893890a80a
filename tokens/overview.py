"""Settings › Security extensions › API usage: which API tokens of the tenant are busy or
refused, over the last 30 days (tokens.usage.tenant_usage)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.permissions import may_see_api_usage
from web.access import allowed

from .usage import tenant_usage


@allowed(may_see_api_usage)
@require_GET
def api_usage(request):
    return render(request, "tokens/api_usage.html", {"usage": tenant_usage(request.tenant)})
