import re

from django import forms
from django.core.validators import validate_ipv46_address

from .models import LogCollector, SiemAgent

HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


PORT_RANGE = "Use a port from 1 to 65535."


class IntegrationForm(forms.ModelForm):
    # Per field: the first, empty choice of a select (Django's is "---------") and the message
    # when nothing is chosen or entered (Django's is "This field is required.").
    placeholders: dict = {}
    required_messages = {
        "name": "Enter a name, e.g. the site or product it serves.",
        "port": "Enter a port from 1 to 65535.",
    }

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["name"].help_text = "How you will recognise it, e.g. the site or product."
        port = self.fields["port"]
        port.widget.attrs.update({"min": 1, "max": 65535, "inputmode": "numeric"})
        port.error_messages.update(max_value=PORT_RANGE, min_value=PORT_RANGE)
        for name, message in self.required_messages.items():
            self.fields[name].error_messages["required"] = message
        for name, placeholder in self.placeholders.items():
            field = self.fields[name]
            field.choices = [("", placeholder), *(c for c in field.choices if c[0] != "")]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if type(self.instance).objects.filter(tenant=self.tenant, name__iexact=name).exists():
            raise forms.ValidationError("Another one already has this name.")
        return name


# Syslog over TLS listens on 6514 by convention (RFC 5425), plain syslog on 514 (RFC 3164).
SYSLOG_TLS_PORT = 6514
SYSLOG_PORT = 514


class SiemAgentForm(IntegrationForm):
    """A new agent sends over TLS to syslog's TLS port unless told otherwise; the page's script
    moves the port between the two conventional ones as TLS is ticked or unticked."""

    placeholders = {"format": "Choose a format"}
    required_messages = {
        **IntegrationForm.required_messages,
        "format": "Choose the format your SIEM reads: CEF or JSON lines.",
        "host": "Enter the host name or IP address your SIEM receives events on.",
    }

    class Meta:
        model = SiemAgent
        fields = ["name", "format", "host", "port", "tls"]
        help_texts = {
            "host": "Host name or IP address your SIEM receives events on.",
            "port": f"Usually {SYSLOG_TLS_PORT} for syslog over TLS, {SYSLOG_PORT} without TLS.",
            "tls": "The receiver must present a certificate the agent's machine trusts.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tls"].initial = True
        port = self.fields["port"]
        port.initial = SYSLOG_TLS_PORT
        port.widget.attrs.update({"data-tls-port": SYSLOG_TLS_PORT, "data-plain-port": SYSLOG_PORT})

    def clean_host(self):
        host = self.cleaned_data["host"].strip().lower().rstrip(".")
        try:
            validate_ipv46_address(host)
        except forms.ValidationError:
            if not HOSTNAME.match(host):
                raise forms.ValidationError(
                    "Enter a host name (like siem.example.com) or an IP address."
                ) from None
        return host


class LogCollectorForm(IntegrationForm):
    placeholders = {"source_type": "Choose a data source", "receiver": "Choose a receiver"}
    required_messages = {
        **IntegrationForm.required_messages,
        "source_type": "Choose the kind of device whose logs it collects.",
        "receiver": "Choose how the devices send their logs: FTP or syslog.",
    }

    class Meta:
        model = LogCollector
        fields = ["name", "source_type", "receiver", "port"]
        help_texts = {"port": "The port the collector listens on for this receiver."}
