from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from tenants.models import User
from tenants.permissions import may_use_admin

from .models import password_refusal


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
        # Given whatever the password (none was checked), and naming no tenant.
        "several_tenants": (
            "This email has accounts in more than one organisation, so it cannot sign in "
            "here: use your organisation’s own portal address (your administrator has it)."
        ),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs["autocomplete"] = "email"
        self.fields["password"].label = "Password"

    def clean(self):
        self._refuse_single_sign_on_accounts()
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login" and self._names_several_users():
                raise ValidationError(
                    self.error_messages["several_tenants"], code="several_tenants"
                ) from None
            raise

    def _on_generic_host(self):
        return getattr(self.request, "host_tenant", None) is None

    def _refuse_single_sign_on_accounts(self):
        """On the generic host, an account of a tenant that signs in with single sign-on only
        fails as a wrong password does, decided before any password is checked: with another
        message for the right password, the page would confirm a guessed one (the tenant's own
        host refuses passwords up front, PortalLoginView.post)."""
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not (email and password and self._on_generic_host()):
            return
        users = User.objects.for_sign_in(email)
        if len(users) == 1 and password_refusal(users[0].tenant):
            User().set_password(password)  # the time a password check takes, as elsewhere
            raise self.get_invalid_login_error()

    def _names_several_users(self):
        email = self.cleaned_data.get("username")
        return bool(email) and self._on_generic_host() and len(User.objects.for_sign_in(email)) > 1

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if password_refusal(user.tenant):
            # Defence in depth: _refuse_single_sign_on_accounts already refused such a user.
            raise self.get_invalid_login_error()


class PlatformAuthenticationForm(BoundedEmail, AdminAuthenticationForm):
    """Django admin's sign-in: platform operators only (tenants.permissions.may_use_admin). A
    tenant user gets the message of a wrong password even with the right one: admin is no way
    around a tenant's single-sign-on-only rule, and the form says nothing about accounts."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
