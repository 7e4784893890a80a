"""portal-siem-agent: forwards a tenant's audit events from the portal's SIEM feed to a syslog
receiver (CONTRACT §11). Standard library only, so that it runs on any machine with the package
installed, without Django settings or a database."""

from importlib import metadata

try:
    __version__ = metadata.version("api-token-portal")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
