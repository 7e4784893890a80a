from django import forms

from .models import Role, ServiceAccount, User


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
    sponsor = SponsorField(label="New sponsor", queryset=User.objects.none())

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sponsor"].queryset = sponsor_choices(tenant)
