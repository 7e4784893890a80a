"""Forms of the service account pages (CONTRACT §15). The rules they apply are tenants':
who may sponsor (sponsor_refusal), the name's pattern and the roles."""

from django import forms

from tenants.models import Role, ServiceAccount, User


def sponsor_choices(tenant):
    """The people of the tenant who may sponsor a service account (sponsor_refusal's rule)."""
    return User.objects.filter(
        tenant=tenant, is_service_account=False, is_active=True, deprovisioned_at__isnull=True
    ).order_by("email")


class SponsorField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.email


class ServiceAccountForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=63,
        help_text="Lowercase letters, digits and hyphens, like ci-deploy.",
        validators=ServiceAccount._meta.get_field("name").validators,
    )
    description = forms.CharField(
        label="Description", max_length=500, required=False, help_text="What it is for."
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.SECURITY_READER)
    sponsor = SponsorField(
        label="Sponsor",
        queryset=User.objects.none(),
        help_text="The person answerable for it; you, unless you name someone else.",
    )

    def __init__(self, *args, tenant, creator, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sponsor"].queryset = sponsor_choices(tenant)
        self.fields["sponsor"].initial = creator.pk


class SponsorForm(forms.Form):
    sponsor = SponsorField(
        label="New sponsor",
        queryset=User.objects.none(),
        empty_label="Choose a person",
        help_text="An active person of your tenant, answerable for the account.",
        error_messages={
            "required": "Choose the person who will sponsor the account.",
            "invalid_choice": "Choose an active person of your tenant: that one cannot sponsor.",
        },
    )

    def __init__(self, *args, tenant, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sponsor"].queryset = sponsor_choices(tenant)
        if account is not None and not account.sponsor_missing:
            self.fields["sponsor"].initial = account.sponsor_id


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=Role.choices,
        help_text="Its tokens act with this role from their next call.",
        error_messages={
            "required": "Choose a role.",
            "invalid_choice": "Choose Security reader, Security operator or Full admin.",
        },
    )
