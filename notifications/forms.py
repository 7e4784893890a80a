from django import forms

from tenants.permissions import receives_hygiene_digest

from .models import NotificationSettings


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["expiry_week_ahead", "weekly_digest"]
        labels = {
            "expiry_week_ahead": "Warn me a week before one of my tokens expires",
            "weekly_digest": "Send me the weekly API token hygiene digest",
        }
        help_texts = {
            "expiry_week_ahead": "A day before expiry, and once a token has expired, you are "
            "always told: that is the last word before a script stops working.",
            "weekly_digest": "Once a week, from Monday (UTC): tokens of "
            "deprovisioned owners, tokens unused for 90 days, tokens expiring this week.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not receives_hygiene_digest(user):
            del self.fields["weekly_digest"]
