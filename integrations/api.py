from django.http import JsonResponse
from django.utils import timezone

from web.api import api_error, api_view, iso

from .models import LogCollector, SiemAgent


def _heartbeat(request, model):
    # api_view accepted only a token of this endpoint's kind, and recorded its use.
    integration = model.objects.filter(token=request.auth).first()
    if integration is None:
        return api_error(404, "No such agent.")
    return JsonResponse(
        {"status": "ok", "name": integration.name, "received_at": iso(timezone.now())}
    )


@api_view("POST", kinds=(SiemAgent.token_kind,))
def siem_heartbeat(request):
    return _heartbeat(request, SiemAgent)


@api_view("POST", kinds=(LogCollector.token_kind,))
def log_collector_heartbeat(request):
    return _heartbeat(request, LogCollector)
