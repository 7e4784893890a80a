from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError

from tenants.permissions import may_issue_writable_tokens
from tokens.forms import MAX_LIFETIME, NetworksField, TokenGenerateForm, required_networks
from tokens.models import TokenAccess
from web import networks

from .models import NOTE_MAX_LENGTH, REASON_MAX_LENGTH


class TokenRequestForm(TokenGenerateForm):
    """The generate dialog's fields, within the same policy, and why the token is needed."""

    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Say why you need the token: a full admin decides on it.",
            "max_length": "Use at most %(limit_value)d characters (this reason has "
            "%(show_value)d).",
        },
        help_text="What will use it and why; the full admins who decide read this.",
    )


def request_form(request, data=None):
    """The Request a token dialog's form for the signed-in user, on their tenant's policy."""
    return TokenRequestForm(
        data, tenant=request.tenant, writable=may_issue_writable_tokens(request.user)
    )


def granted_values(request, *, access, allowed_networks, expires_at, now):
    """The values an approval grants, checked to be the request's or narrower, never wider,
    and within the tenant's policy as it is now. allowed_networks: normalised ranges.
    ValidationError {field: message} otherwise."""
    tenant = request.tenant
    errors = {}
    if request.is_read_only and access != TokenAccess.READ_ONLY:
        errors["read_only"] = "The request asks for read only; an approval cannot widen it."
    stored = networks.stored(allowed_networks)
    if not networks.within(stored, request.allowed_networks):
        errors["allowed_networks"] = (
            "Grant only networks within those asked for: "
            f"{', '.join(request.networks)}. An approval can narrow them, never widen them."
        )
    else:
        try:
            required_networks(allowed_networks, tenant)
        except ValidationError as error:
            errors["allowed_networks"] = error.messages[0]
    if expires_at is None and request.expires_at is not None:
        expires_at = request.expires_at
    if expires_at is not None:
        limit = tenant.token_max_lifetime_days
        if expires_at <= now:
            errors["expires_on"] = "Choose an expiry in the future."
        elif request.expires_at is not None and expires_at > request.expires_at:
            errors["expires_on"] = (
                f"Choose an expiry on or before the one asked for, "
                f"{request.expires_at:%Y-%m-%d}: an approval cannot make it later."
            )
        elif expires_at > now + (timedelta(days=limit, minutes=1) if limit else MAX_LIFETIME):
            errors["expires_on"] = (
                f"Your organisation allows tokens to live at most {limit} days."
                if limit
                else "Choose a date at most 10 years ahead."
            )
    elif tenant.token_expiry_required or tenant.token_max_lifetime_days:
        errors["expires_on"] = "Your organisation requires tokens to expire: choose a date."
    if errors:
        raise ValidationError(errors)
    return {"access": access, "allowed_networks": allowed_networks, "expires_at": expires_at}


class TokenApproveForm(forms.Form):
    """An approval: as asked, or narrower (read only, fewer networks, an earlier expiry)."""

    read_only = forms.BooleanField(
        label="Read only", required=False, help_text="Grant read access only."
    )
    allowed_networks = NetworksField(
        label="Allowed networks",
        help_text="Those asked for, or fewer or smaller ranges within them. Empty: anywhere "
        "(only when the request asks for anywhere).",
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
        help_text="Empty: as asked. An earlier date narrows it.",
    )
    note = forms.CharField(
        label="Note to the requester",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, token_request, now, **kwargs):
        super().__init__(*args, prefix=form_prefix(token_request, "approve"), **kwargs)
        self.token_request, self.now = token_request, now
        self.initial.setdefault("read_only", token_request.is_read_only)
        self.initial.setdefault("allowed_networks", token_request.networks)
        if token_request.expires_at:
            self.initial.setdefault("expires_on", token_request.expires_at.date())
        if token_request.is_read_only:
            self.fields["read_only"].disabled = True
            self.fields["read_only"].help_text = "Asked for read only."

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        day = cleaned.get("expires_on")
        expires_at = None
        if day is not None:
            expires_at = datetime.combine(day, time.min, tzinfo=UTC)
            asked = self.token_request.expires_at
            if asked is not None and day == asked.date():
                expires_at = asked  # the date shown for the asked expiry means it, to the second
        access = TokenAccess.READ_ONLY if cleaned.get("read_only") else TokenAccess.READ_WRITE
        try:
            cleaned.update(
                granted_values(
                    self.token_request,
                    access=access,
                    allowed_networks=cleaned.get("allowed_networks", []),
                    expires_at=expires_at,
                    now=self.now,
                )
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field, messages)
        return cleaned


def form_prefix(token_request, action):
    """Each request's forms name their fields apart: several are on one page."""
    return f"{action}-{token_request.pk.hex[:12]}"


class TokenDenyForm(forms.Form):
    note = forms.CharField(
        label="Note to the requester",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why it is denied: the requester reads this note."},
    )
