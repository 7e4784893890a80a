from django import forms

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

    status = forms.ChoiceField(
        choices=[(value, value) for value in STATUS_FILTER_VALUES],
        required=False,
        error_messages={
            "invalid_choice": "Unknown status “%(value)s”: choose all, active, inactive or "
            "generated."
        },
    )

    def clean_status(self):
        return self.cleaned_data["status"] or "all"
