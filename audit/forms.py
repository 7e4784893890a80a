from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.db.models import Q

from .models import Action


class AuditFilterForm(forms.Form):
    """Filters shared by the audit log page, its CSV export and GET /api/v1/audit/."""

    action = forms.ChoiceField(
        label="Event", choices=[("", "All events"), *Action.choices], required=False
    )
    user = forms.CharField(label="User", max_length=254, required=False)
    token = forms.CharField(label="Token", max_length=100, required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def filter(self, events):
        data = self.cleaned_data
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["user"]:
            events = events.filter(
                Q(actor_email__icontains=data["user"]) | Q(subject_email__icontains=data["user"])
            )
        if data["token"]:
            events = events.filter(
                Q(token_name__icontains=data["token"]) | Q(token__hint=data["token"][:16])
            )
        if data["since"]:
            events = events.filter(created_at__gte=_start_of(data["since"]))
        if data["until"] and data["until"] < date.max:  # no event is later than the last day
            events = events.filter(created_at__lt=_start_of(data["until"]) + timedelta(days=1))
        return events


def _start_of(day):
    return datetime.combine(day, time.min, tzinfo=UTC)
