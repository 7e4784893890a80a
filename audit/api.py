from web.api import api_error, api_view, iso, paginated

from .forms import AuditFilterForm
from .models import AuditEvent


def event_json(event):
    return {
        "id": str(event.public_id),
        "created_at": iso(event.created_at),
        "action": event.action,
        "via": event.via,
        "actor": event.actor_email or None,
        "subject": event.subject_email or None,
        "token": {"id": str(event.token_id), "name": event.token_name} if event.token_id else None,
        "client_ip": event.client_ip,
        "detail": event.detail,
    }


@api_view("GET")
def audit_list(request):
    # tenants.permissions answers through the user: it stands on a floor above audit.
    if not request.user.may_see_audit_log:
        return api_error(403, "permission denied: the audit log is for full admins' tokens.")
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return api_error(400, f"{field}: {errors[0]}")
    events = form.filter(AuditEvent.objects.for_tenant(request.tenant))
    return paginated(request, events, event_json)
