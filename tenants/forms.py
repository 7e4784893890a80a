from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        # One message for every failure (unknown e-mail, wrong password, deprovisioned user,
        # other tenant's host), so the form never tells which accounts exist.
        "invalid_login": "That email and password do not match an account that can sign in here.",
        "inactive": "That email and password do not match an account that can sign in here.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        # Django sets max_length on this field only for the widget; without the validator a
        # megabyte "e-mail" reaches the database as a LIKE pattern SQLite refuses (a 500).
        self.fields["username"].validators.append(MaxLengthValidator(254))
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs["autocomplete"] = "email"
        self.fields["password"].label = "Password"
