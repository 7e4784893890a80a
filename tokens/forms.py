from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import Truncator, get_text_list

from tenants.models import MAX_ROTATION_OVERLAP_HOURS, Tenant, TokenCreators
from web import networks

from .models import (
    DEFAULT_OVERLAP,
    DEFAULT_SORT,
    MAX_OVERLAP,
    NAME_MAX_LENGTH,
    SEARCH_MAX_LENGTH,
    SORT_VALUES,
    STATUS_FILTER_VALUES,
    TokenAccess,
    default_overlap,
    longest_overlap,
    validate_token_name,
)


class TokenNameForm(forms.Form):
    """The name of a new token; the page and `generatetoken` apply the same rules."""

    name = forms.CharField(
        label="Token name",
        max_length=NAME_MAX_LENGTH,
        validators=[validate_token_name],
        error_messages={
            "required": "Enter a name for the token, e.g. the script or integration using it.",
            "max_length": "Use at most %(limit_value)d characters (this name has %(show_value)d).",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Say what will use it, e.g. “SIEM export” or “Nightly backup script”.",
    )


class BadOverlap(ValueError):
    """An overlap that is not a whole number of seconds from 0 to MAX_OVERLAP; str() says
    so in a sentence."""


class OverlapAboveCap(BadOverlap):
    """An overlap longer than the tenant allows (Tenant.token_max_rotation_overlap_hours);
    str() names the cap."""


def overlap_cap_text(tenant):
    """The tenant's longest overlap in words, "12 hours (43200 seconds)"."""
    seconds = int(longest_overlap(tenant).total_seconds())
    hours = seconds // 3600
    return f"{hours} hour{'s' if hours != 1 else ''} ({seconds} seconds)"


def overlap_from_seconds(seconds, *, tenant):
    """A rotation's overlap (how long the old secret keeps working at most) from a number of
    seconds as the API and the command take it: a whole number, not a string, a fraction,
    null or true (JSON's true is Python's 1), within the tenant's cap. 3600.0 is a whole
    number, as JSON Schema's integer says (the OpenAPI document's)."""
    most = int(MAX_OVERLAP.total_seconds())
    shape = f"overlap: send a whole number of seconds from 0 (at once) to {most} (7 days)."
    if isinstance(seconds, float) and seconds.is_integer():
        seconds = int(seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise BadOverlap(shape)
    if not 0 <= seconds <= most:
        raise BadOverlap(f"{shape} {str(seconds)[:20]} is out of range.")
    if timedelta(seconds=seconds) > longest_overlap(tenant):
        raise OverlapAboveCap(
            f"overlap: your organisation allows the old secret to keep working at most "
            f"{overlap_cap_text(tenant)}; {seconds} seconds is longer."
        )
    return timedelta(seconds=seconds)


class TokenRotateForm(forms.Form):
    """The page's rotate confirmation: when the old value stops, from a few choices within
    the tenant's cap (the cap itself among them), the default cut to it."""

    OVERLAPS = [
        (0, "At once"),
        (3600, "After 1 hour"),
        (int(DEFAULT_OVERLAP.total_seconds()), "After 24 hours"),
        (int(MAX_OVERLAP.total_seconds()), "After 7 days"),
    ]

    overlap = forms.TypedChoiceField(
        label="The old value stops",
        choices=OVERLAPS,
        coerce=int,
        # A form without the field (an older page still open) rotates as the API does.
        required=False,
        help_text="…or at the new value’s first use, whichever comes first.",
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        longest = int(longest_overlap(tenant).total_seconds())
        default = int(default_overlap(tenant).total_seconds())
        choices = [(seconds, label) for seconds, label in self.OVERLAPS if seconds <= longest]
        if longest not in dict(choices):
            hours = longest // 3600
            choices.append((longest, f"After {hours} hour{'s' if hours != 1 else ''}"))
        field = self.fields["overlap"]
        field.choices, field.initial, field.empty_value = choices, default, default
        if tenant.token_max_rotation_overlap_hours is not None:
            cap = f"Your organisation allows at most {overlap_cap_text(tenant)}."
            field.help_text = f"{field.help_text} {cap}"
            field.error_messages["invalid_choice"] = f"Choose one of the times offered. {cap}"

    def clean_overlap(self):
        return timedelta(seconds=self.cleaned_data["overlap"])


class NetworksField(forms.CharField):
    """A list of allowed networks typed one per line (or separated by commas or spaces),
    cleaned to its normalised ranges (web.networks); empty, anywhere."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        # Bounded before it is split or parsed (review 3, finding 1).
        kwargs.setdefault("max_length", networks.MAX_TEXT_LENGTH)
        kwargs.setdefault(
            "error_messages",
            {
                "max_length": f"Allow at most {networks.MAX_NETWORKS} networks: this list is "
                f"%(show_value)d characters long, more than {networks.MAX_NETWORKS} take "
                f"({networks.MAX_TEXT_LENGTH})."
            },
        )
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def clean(self, value):
        text = super().clean(value)
        try:
            return networks.normalised(networks.split(text))
        except networks.BadNetworks as error:
            raise forms.ValidationError(str(error)) from None


NETWORKS_HELP = (
    "IPv4 or IPv6 addresses or CIDR ranges, one per line (at most "
    f"{networks.MAX_NETWORKS}); calls from anywhere else are refused. Empty: any address."
)


NETWORKS_REQUIRED = "Your organisation requires tokens to name the networks they are used from."


def required_networks(value, tenant):
    """value (normalised ranges), as the tenant's policy takes it: where it requires networks,
    at least one, and none that is the whole Internet (review 3, finding 9: 0.0.0.0/0 met the
    letter of the policy)."""
    if not tenant.token_networks_required:
        return value
    if not value:
        raise forms.ValidationError(NETWORKS_REQUIRED)
    anywhere = [network for network in value if network.endswith("/0")]
    if anywhere:
        raise forms.ValidationError(
            f"{NETWORKS_REQUIRED} {anywhere[0]} is every address; name the networks themselves."
        )
    return value


class TokenNetworksForm(forms.Form):
    """The allowed networks of an existing token, on its page, within the tenant's policy."""

    allowed_networks = NetworksField(label="Allowed networks", help_text=NETWORKS_HELP)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_allowed_networks(self):
        return required_networks(self.cleaned_data["allowed_networks"], self.tenant)


EXPIRY_CHOICES = [
    ("none", "No expiry"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "365 days"),
    ("custom", "On a date…"),
]
# The longest lifetime a tenant's policy may allow; a later date would also overflow the
# date arithmetic of rotation (which keeps the lifetime, counted from the rotation).
MAX_LIFETIME = timedelta(days=3650)


class TokenGenerateForm(TokenNameForm):
    """Name, expiry and access of a new token, within the tenant's token policy.

    writable: whether the owner may issue writable tokens; if not, Read only is checked and
    cannot be unchecked (tenants.permissions.may_issue_writable_tokens).
    """

    # Not required: a client that sends only a name gets no expiry, where the policy allows.
    expiry = forms.ChoiceField(label="Expiry", choices=EXPIRY_CHOICES, initial="90", required=False)
    expiry_date = forms.DateField(
        label="Expiry date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )

    read_only = forms.BooleanField(
        label="Read only",
        required=False,
        help_text="The token can read but never write, whatever your role.",
    )
    allowed_networks = NetworksField(label="Allowed networks", help_text=NETWORKS_HELP)

    def __init__(self, *args, tenant, writable=True, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant, self.now = tenant, now or timezone.now()
        if not writable:
            read_only = self.fields["read_only"]
            read_only.initial, read_only.disabled = True, True
            read_only.help_text = "Your role reads only, so your tokens are read only."
        limit = tenant.token_max_lifetime_days
        choices = [
            (value, label)
            for value, label in EXPIRY_CHOICES
            if not (value == "none" and (tenant.token_expiry_required or limit))
            and not (value.isdigit() and limit and int(value) > limit)
        ]
        self.fields["expiry"].choices = [
            (value, self._expiry_label(value, label)) for value, label in choices
        ]
        if "90" not in dict(choices):
            self.fields["expiry"].initial = choices[0][0]
        help_parts = []
        if tenant.token_expiry_required:
            help_parts.append("Your organisation requires tokens to expire.")
        if limit:
            help_parts.append(f"Tokens may live at most {limit} days.")
        self.fields["expiry"].help_text = " ".join(help_parts)
        if tenant.token_networks_required:
            self.fields["allowed_networks"].help_text = f"{NETWORKS_REQUIRED} {NETWORKS_HELP}"

    def _expiry_label(self, value, label):
        """A number of days with the date it ends on, "90 days (6 March 2027)": the days alone
        leave the date to guess, and a relative phrase rounds them ("in 2 months")."""
        if not value.isdigit():
            return label
        day = (self.now + timedelta(days=int(value))).astimezone(UTC)
        return f"{label} ({day.day} {day:%B %Y})"

    def clean_expiry(self):
        expiry = self.cleaned_data["expiry"] or "none"
        if expiry == "none" and "none" not in dict(self.fields["expiry"].choices):
            raise forms.ValidationError("Your organisation requires tokens to expire.")
        return expiry

    def clean_allowed_networks(self):
        return required_networks(self.cleaned_data["allowed_networks"], self.tenant)

    def clean(self):
        cleaned = super().clean()
        cleaned["access"] = (
            TokenAccess.READ_ONLY if cleaned.get("read_only") else TokenAccess.READ_WRITE
        )
        expiry = cleaned.get("expiry")
        if expiry is None:
            return cleaned
        if expiry == "none":
            cleaned["expires_at"] = None
        elif expiry == "custom":
            day = cleaned.get("expiry_date")
            if day is None:
                if "expiry_date" not in self.errors:
                    self.add_error("expiry_date", "Choose the date the token expires on.")
                return cleaned
            expires_at = datetime.combine(day, time.min, tzinfo=UTC)
            if expires_at <= self.now:
                self.add_error("expiry_date", "Choose a date in the future.")
                return cleaned
            if expires_at > self.now + MAX_LIFETIME:
                self.add_error("expiry_date", "Choose a date at most 10 years ahead.")
                return cleaned
            cleaned["expires_at"] = expires_at
        else:
            cleaned["expires_at"] = self.now + timedelta(days=int(expiry))
        limit = self.tenant.token_max_lifetime_days
        expires_at = cleaned.get("expires_at")
        if limit and expires_at and expires_at > self.now + timedelta(days=limit, minutes=1):
            self.add_error(
                "expiry_date", f"Your organisation allows tokens to live at most {limit} days."
            )
        return cleaned


# The page-only narrowing filters (TokenPageListingForm).
EXPIRING_VALUES = ["soon"]
UNUSED_MAX_DAYS = 3650


class TokenListingForm(forms.Form):
    """?status=, ?q= and ?sort= of the tokens page and the API (CONTRACT §13)."""

    # A plain Field: the value is only compared with the allowed ones, so any string a client
    # sends (null characters included) gets the same clear message.
    status = forms.Field(required=False)
    q = forms.CharField(
        label="Search tokens",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        error_messages={
            "max_length": "Search for at most %(limit_value)d characters (this search has "
            "%(show_value)d).",
            "null_characters_not_allowed": "Searches cannot contain null characters.",
        },
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text="Part of a name, an owner's e-mail or the first characters of a token.",
    )
    sort = forms.Field(required=False)

    def clean_status(self):
        return _one_of(self.cleaned_data["status"] or "all", STATUS_FILTER_VALUES, "status")

    def clean_sort(self):
        return _one_of(self.cleaned_data["sort"] or DEFAULT_SORT, SORT_VALUES, "sort")

    def first_error(self):
        """The API's 400 detail, `field: message`, for the first field in declared order."""
        field = next(name for name in self.fields if name in self.errors)
        return f"{field}: {self.errors[field][0]}"


class TokenPageListingForm(TokenListingForm):
    """The tokens page narrows further than the API, for the weekly digest's links and for
    hygiene rounds: ?expiring=soon (expiring within 7 days, the ones flagged in the table) and
    ?unused=<days> (neither used nor issued in that many days)."""

    expiring = forms.Field(required=False)
    unused = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=UNUSED_MAX_DAYS,
        error_messages={
            "invalid": "Unused for how many days: give a whole number of days, e.g. 90.",
            "min_value": "Unused for how many days: at least %(limit_value)s.",
            "max_value": "Unused for how many days: at most %(limit_value)s.",
        },
    )

    def clean_expiring(self):
        value = self.cleaned_data["expiring"]
        return _one_of(value, EXPIRING_VALUES, "expiring") if value else ""

    def narrowing(self):
        """The extra filters given and valid, as the query string they came in (or "")."""
        return urlencode(
            {
                name: self.cleaned_data[name]
                for name in ("expiring", "unused")
                if self.cleaned_data.get(name)
            }
        )


def _one_of(value, allowed, what):
    if value not in allowed:
        shown = Truncator(value).chars(40)
        raise forms.ValidationError(
            f"Unknown {what} “{shown}”: choose {get_text_list(allowed, 'or')}."
        )
    return value


class TokenPolicyForm(forms.ModelForm):
    """A tenant's token policy, set by full admins."""

    class Meta:
        model = Tenant
        fields = [
            "token_expiry_required",
            "token_max_lifetime_days",
            "token_inactive_revoke_days",
            "token_suspension_revoke_days",
            "token_max_rotation_overlap_hours",
            "token_networks_required",
            "token_networks",
            "audit_retention_days",
            "token_creators",
            "token_approval_required",
        ]
        labels = {
            "token_max_rotation_overlap_hours": "Longest rotation overlap (hours)",
            "token_creators": "Who may have API tokens",
            "token_approval_required": "New API tokens need a full admin's approval",
            "audit_retention_days": "Keep audit events for (days)",
            "token_networks_required": "New tokens must name allowed networks",
            "token_expiry_required": "Require an expiry on new tokens",
            "token_max_lifetime_days": "Maximum lifetime (days)",
            "token_inactive_revoke_days": "Revoke tokens unused for (days)",
            "token_suspension_revoke_days": "Revoke tokens suspended for (days)",
        }
        help_texts = {
            "token_creators": "For themselves; full admins always may. Existing tokens are "
            "kept. Service accounts' tokens are generated by full admins.",
            "token_approval_required": "Everyone but full admins requests a token, with a "
            "reason; a full admin approves it (possibly narrower) or denies it, and the "
            "requester reveals it once, within 7 days.",
            "token_max_lifetime_days": "Leave empty for no limit. Applies to new tokens, and to "
            "existing ones when they are rotated.",
            "token_inactive_revoke_days": "Tokens unused for this many days are revoked "
            "automatically once a day, tokens of every kind. Leave empty to keep unused tokens.",
            "token_suspension_revoke_days": "A token suspended this many days is revoked at "
            "the next daily sweep. Leave empty to keep suspended tokens until someone resumes "
            "or revokes them.",
            "token_max_rotation_overlap_hours": "How long a rotated token's old value may keep "
            f"working, 0 to {MAX_ROTATION_OVERLAP_HOURS} (0: it stops at once). Rotations offer "
            "no longer, and one that asks for none gets 24 hours or this, whichever is "
            "shorter. Leave empty for the longest, 7 days. Rotations made before keep theirs.",
            "token_networks_required": "API tokens generated from now on must list the "
            "addresses they may be used from.",
            "audit_retention_days": "At least 30. Older events are deleted once a day, and a "
            "SIEM agent behind them is told where to continue. Leave empty to keep every event.",
        }
        error_messages = {
            "token_max_rotation_overlap_hours": {
                "invalid": "Longest rotation overlap: give a whole number of hours, e.g. 24.",
                "min_value": "Longest rotation overlap: 0 or more hours (0: the old value "
                "stops at once).",
                "max_value": f"Longest rotation overlap: at most {MAX_ROTATION_OVERLAP_HOURS} "
                "hours (7 days), or leave it empty.",
            },
            "audit_retention_days": {
                "min_value": "Keep audit events for at least 30 days, or leave it empty to "
                "keep every event.",
                "max_value": "Keep audit events for at most 36,500 days (100 years), or leave "
                "it empty to keep every event.",
            },
        }

    # Every token of the tenant, of every kind, is used only from these as well as its own.
    token_networks = NetworksField(
        label="Networks every token is used from",
        help_text="IPv4 or IPv6 addresses or CIDR ranges, one per line (at most "
        f"{networks.MAX_NETWORKS}). Every token of any kind is refused from anywhere else, "
        "on top of its own networks; pages are not affected. Empty: any address.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["token_networks"] = self.instance.token_allowed_networks
        # A policy form sent without the choice (an older page still open) keeps the default,
        # as it does for each checkbox it leaves out.
        self.fields["token_creators"].required = False

    def clean_token_creators(self):
        return self.cleaned_data["token_creators"] or TokenCreators.EVERYONE

    def clean_token_networks(self):
        return networks.stored(self.cleaned_data["token_networks"])
