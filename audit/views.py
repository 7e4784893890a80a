import csv
from operator import attrgetter

from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import Truncator

from web.access import allowed

from .forms import AuditFilterForm
from .models import AuditEvent

PAGE_SIZE = 50
# tenants.permissions answers through the user: it stands on a floor above audit.
may_see_log = attrgetter("may_see_audit_log")
# Token names repeat (and change), so an event about a token also carries its id (the one
# the API and SIEM feed give) and its hint; new columns go at the end, after those that
# spreadsheets and scripts already read by position.
CSV_COLUMNS = [
    "time_utc",
    "event",
    "via",
    "actor",
    "subject",
    "token",
    "client_ip",
    "detail",
    "token_id",
    "token_hint",
]


def _filtered(request):
    """The filter form and the tenant's events it selects; None when a filter is not valid:
    then nothing is shown or exported, never every event in place of the ones asked for."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, form.filter(AuditEvent.objects.for_tenant(request.tenant))


@allowed(may_see_log)
def audit_log(request):
    form, events = _filtered(request)
    page = None
    if events is not None:
        # A service account is shown by its name, not its placeholder address: its account
        # comes with the event (tenants/user_label.html), not in a query per row.
        related = ("token", "actor__service_account", "subject__service_account")
        paginator = Paginator(events.select_related(*related), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
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
    if events is None:
        return HttpResponse(
            f"Nothing was exported. {_first_error(form)} Correct the filter and export again.\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    events = events.annotate(token_hint=F("token__hint"))
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
                    event.token_id or "",
                    event.token_hint or "",
                )
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.tenant.slug}-{stamp}.csv"'
    )
    return response


# A message may quote what was sent (an unknown event name): cut, as it goes on one line.
ERROR_MAX_LENGTH = 200


def _first_error(form):
    """The first of a filter form's errors, "<field label>: <message>", on one line of
    printable characters at most ERROR_MAX_LENGTH long."""
    name, errors = next(iter(form.errors.items()))
    field = form.fields.get(name)
    text = f"{field.label}: {errors[0]}" if field else errors[0]
    text = "".join(char for char in " ".join(text.split()) if char.isprintable())
    return Truncator(text).chars(ERROR_MAX_LENGTH)
