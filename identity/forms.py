import re
import unicodedata

from django import forms

from .models import IdentitySettings
from .outbound import url_problem

PRINTABLE = re.compile(r"^[\x21-\x7e]+$")  # client ids and secrets: visible ASCII, no spaces
ROLE_VALUE_MAX_LENGTH = 100
ROLE_VALUES_MAX = 50


def validate_visible(value):
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise forms.ValidationError("Use visible characters only: no control characters.")


class SsoSettingsForm(forms.ModelForm):
    """Single sign-on settings. The client secret is write-only: it is never put back into
    the page, and leaving the field empty keeps the stored one."""

    issuer = forms.URLField(
        label="Issuer URL",
        required=False,
        max_length=300,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"spellcheck": "false"}),
        error_messages={
            "invalid": "Enter the issuer as a URL, like https://example.okta.com.",
            "max_length": "Use at most %(limit_value)d characters.",
        },
    )
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        error_messages={"max_length": "Use at most %(limit_value)d characters."},
    )

    class Meta:
        model = IdentitySettings
        fields = ["sso_enabled", "provider_name", "issuer", "client_id", "password_sign_in"]
        labels = {
            "sso_enabled": "Offer single sign-on on the sign-in page",
            "provider_name": "Provider name",
            "client_id": "Client ID",
            "password_sign_in": "Allow password sign-in",
        }
        help_texts = {
            "provider_name": "Shown on the button: “Sign in with …”, e.g. Okta or Entra ID.",
            "issuer": "Exactly as your provider's discovery document names it, e.g. "
            "https://example.okta.com or https://login.microsoftonline.com/<tenant id>/v2.0.",
            "password_sign_in": "Turn off to make every user of this tenant sign in with "
            "single sign-on. Possible only while single sign-on is on and complete.",
        }
        widgets = {
            "client_id": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }
        error_messages = {
            "provider_name": {"max_length": "Use at most %(limit_value)d characters."},
            "client_id": {"max_length": "Use at most %(limit_value)d characters."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        secret_set = bool(self.instance.client_secret)
        self.fields["client_secret"].help_text = (
            "Set. Leave empty to keep it, or type a new one to replace it. A new issuer or "
            "client ID needs it typed again."
            if secret_set
            else "Not set."
        )
        self.secret_cleared = False

    def clean_provider_name(self):
        name = self.cleaned_data["provider_name"].strip()
        validate_visible(name)
        return name

    def clean_issuer(self):
        issuer = self.cleaned_data["issuer"].strip()
        if not issuer:
            return issuer
        if "?" in issuer or "#" in issuer:
            raise forms.ValidationError("The issuer cannot have a query or a fragment.")
        problem = url_problem(issuer, subject="The issuer")
        if problem:
            raise forms.ValidationError(problem)
        return issuer

    def clean_client_id(self):
        client_id = self.cleaned_data["client_id"].strip()
        if client_id and not PRINTABLE.match(client_id):
            raise forms.ValidationError("A client ID has no spaces or special characters.")
        return client_id

    def clean_client_secret(self):
        secret = self.cleaned_data["client_secret"]
        if secret and not PRINTABLE.match(secret):
            raise forms.ValidationError("A client secret has no spaces or special characters.")
        return secret

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        secret = cleaned.get("client_secret")
        if not secret and self.instance.client_secret:
            if self.instance.secret_belongs_to(cleaned.get("issuer"), cleaned.get("client_id")):
                secret = self.instance.client_secret
            else:
                self.secret_cleared = True
                if cleaned.get("sso_enabled"):
                    self.add_error(
                        "client_secret",
                        "Type the client secret again: the issuer or client ID changed, and "
                        "the stored secret is only ever sent to the client it was given for.",
                    )
        if cleaned.get("sso_enabled"):
            needed = {
                "provider_name": "Enter the provider's name to show on the sign-in page.",
                "issuer": "Enter the issuer URL.",
                "client_id": "Enter the client ID your provider gave the portal.",
            }
            for name, message in needed.items():
                if not cleaned.get(name):
                    self.add_error(name, message)
            if not secret and not self.secret_cleared:
                self.add_error("client_secret", "Enter the client secret.")
        if not cleaned.get("password_sign_in") and not cleaned.get("sso_enabled"):
            self.add_error(
                "password_sign_in",
                "Keep password sign-in while single sign-on is off: otherwise nobody could "
                "sign in.",
            )
        return cleaned

    def has_changed(self):
        return super().has_changed() or bool(self.cleaned_data.get("client_secret"))

    def save(self, commit=True):
        identity = super().save(commit=False)
        if self.cleaned_data.get("client_secret"):
            identity.client_secret = self.cleaned_data["client_secret"]
        elif self.secret_cleared:
            identity.client_secret = ""
        if commit:
            identity.save()
        return identity

    def change_summary(self):
        """What changed, for the audit log; the secret's value never appears."""
        parts = []
        for name in self.changed_data:
            field = self.fields[name]
            if name == "client_secret":
                parts.append("client secret replaced")
            elif name in ("sso_enabled", "password_sign_in"):
                state = "on" if self.cleaned_data[name] else "off"
                parts.append(f"{field.label.lower()}: {state}")
            else:
                parts.append(f"{field.label.lower()}: {self.cleaned_data[name] or '(empty)'}")
        if self.secret_cleared:
            parts.append("client secret cleared (new issuer or client ID)")
        return "Single sign-on: " + "; ".join(parts) + "."


class RoleValuesField(forms.CharField):
    """Attribute values, one per line or separated by commas."""

    widget = forms.Textarea(attrs={"rows": 2, "spellcheck": "false"})

    def __init__(self, **kwargs):
        # What to_python parses, said where the values are typed.
        kwargs.setdefault("help_text", "One value per line, or separated by commas.")
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value) or ""
        values = [part.strip() for part in re.split(r"[,\n]", text)]
        return list(dict.fromkeys(value for value in values if value))

    def validate(self, value):
        if len(value) > ROLE_VALUES_MAX:
            raise forms.ValidationError(f"Use at most {ROLE_VALUES_MAX} values.")
        for item in value:
            if len(item) > ROLE_VALUE_MAX_LENGTH:
                raise forms.ValidationError(
                    f"Use at most {ROLE_VALUE_MAX_LENGTH} characters per value."
                )
            validate_visible(item)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value


class RoleMappingForm(forms.ModelForm):
    full_admin_values = RoleValuesField(label="Values for Full admin", required=False)
    security_operator_values = RoleValuesField(label="Values for Security operator", required=False)
    security_reader_values = RoleValuesField(label="Values for Security reader", required=False)

    class Meta:
        model = IdentitySettings
        fields = [
            "role_source",
            "full_admin_values",
            "security_operator_values",
            "security_reader_values",
            "default_role",
        ]
        labels = {"role_source": "SCIM attribute", "default_role": "Default role"}
        help_texts = {
            "role_source": "The user attribute whose values pick the role.",
            "default_role": "For a new user whose values match no role.",
        }

    def clean(self):
        cleaned = super().clean()
        seen = {}
        for name in ("full_admin_values", "security_operator_values", "security_reader_values"):
            for value in cleaned.get(name) or []:
                other = seen.setdefault(value.casefold(), name)
                if other != name:
                    self.add_error(name, f"“{value}” is already listed for another role.")
        return cleaned

    def change_summary(self):
        parts = []
        for name in self.changed_data:
            value = self.cleaned_data[name]
            shown = ", ".join(value) if isinstance(value, list) else value
            parts.append(f"{self.fields[name].label.lower()}: {shown or '(none)'}")
        return "SCIM role mapping: " + "; ".join(parts) + "."
