from django import forms
from django.utils.text import Truncator

from .models import NAME_MAX_LENGTH, STATUS_FILTER_VALUES, validate_token_name


class TokenNameForm(forms.Form):
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


class StatusFilterForm(forms.Form):
    """The ?status= filter shared by the tokens page and the API."""

    # A plain Field: the value is only compared with the allowed ones, so any string a client
    # sends (null characters included) gets the same clear message.
    status = forms.Field(required=False)

    def clean_status(self):
        value = self.cleaned_data["status"] or "all"
        if value not in STATUS_FILTER_VALUES:
            shown = Truncator(value).chars(40)
            raise forms.ValidationError(
                f"Unknown status “{shown}”: choose all, active, inactive or generated."
            )
        return value


class ApiListForm(StatusFilterForm):
    """Query parameters of GET /api/v1/tokens/."""

    DEFAULT_PAGE_SIZE = 50

    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**9,
        error_messages={"invalid": "Enter a whole number of 1 or more."},
    )
    page_size = forms.IntegerField(required=False, min_value=1, max_value=200)

    def clean_page(self):
        return self.cleaned_data["page"] or 1

    def clean_page_size(self):
        return self.cleaned_data["page_size"] or self.DEFAULT_PAGE_SIZE
