from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from identity.models import password_refusal


class BoundedEmail:
    """Django sets max_length on the username field only for the widget; without the
    validator a megabyte "e-mail" reaches the database as a LIKE pattern SQLite refuses (a
    500)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].validators.append(MaxLengthValidator(254))


class EmailAuthenticationForm(BoundedEmail, AuthenticationForm):
    error_messages = {
        # One message for every failure (unknown e-mail, wrong password, deprovisioned user,
        # other tenant's host), so the form never tells which accounts exist.
        "invalid_login": "That email and password do not match an account that can sign in here.",
        "inactive": "That email and password do not match an account that can sign in here.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs["autocomplete"] = "email"
        self.fields["password"].label = "Password"

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        # Reached only with the right password, so saying why tells nothing to a guesser.
        refusal = password_refusal(user.tenant)
        if refusal:
            raise ValidationError(refusal, code="sso_only")


class PlatformAuthenticationForm(BoundedEmail, AdminAuthenticationForm):
    """Django admin's sign-in: platform operators only (User.is_platform_operator). A tenant
    user gets the message of a wrong password even with the right one: admin is no way
    around a tenant's single-sign-on-only rule, and the form says nothing about accounts."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_platform_operator:
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
