import csv
from operator import attrgetter

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from web.access import allowed

from .forms import AuditFilterForm
from .models import AuditEvent

PAGE_SIZE = 50
# tenants.permissions answers through the user: it stands on a floor above audit.
may_see_log = attrgetter("may_see_audit_log")
CSV_COLUMNS = ["time_utc", "event", "via", "actor", "subject", "token", "client_ip", "detail"]


def _filtered(request):
    form = AuditFilterForm(request.GET)
    events = AuditEvent.objects.for_tenant(request.tenant)
    if form.is_valid():
        events = form.filter(events)
    return form, events


@allowed(may_see_log)
def audit_log(request):
    form, events = _filtered(request)
    return _log_page(request, form, events)


def _log_page(request, form, events):
    page = Paginator(events.select_related("token"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "audit/audit_log.html", context, status=400 if form.errors else 200)


class _Echo:
    def write(self, value):
        return value


def _csv_safe(value):
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@allowed(may_see_log)
def audit_log_csv(request):
    form, events = _filtered(request)
    if form.errors:
        # The page with the form's messages: an export that ignored a bad filter would hand
        # over every event of the tenant instead of the ones asked for.
        return _log_page(request, form, events)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for event in events.iterator(chunk_size=1000):
            yield writer.writerow(
                _csv_safe(value)
                for value in (
                    event.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    event.action,
                    event.via,
                    event.actor_email,
                    event.subject_email,
                    event.token_name,
                    event.client_ip,
                    event.detail,
                )
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.tenant.slug}-{stamp}.csv"'
    )
    return response
