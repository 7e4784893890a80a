"""An audit event as one ArcSight CEF line (CEF:0), for SIEMs that read the feed
(CONTRACT §11). Pure: no database, no settings; the token's hint is given by the caller
(audit stands below tokens). The event carries no secret: AuditEvent.save() redacts details."""

from .models import Action

VENDOR = "API Token Portal"
PRODUCT = "Portal"
VERSION = "1"

# Severity 0-10: refusals and uses that need a look are high, changes of access are medium.
SEVERITY = {
    # Someone still holds a secret its consumer has replaced: a copy, perhaps a stolen one.
    Action.TOKEN_PREVIOUS_SECRET_REUSED: 9,
    Action.TOKEN_DENIED_DEPROVISIONED: 8,
    Action.TOKEN_USED_AFTER_ROLE_CHANGE: 7,
    Action.TOKEN_NEW_NETWORK: 7,
    Action.USER_SIGN_IN_LOCKED: 8,
    Action.USER_SIGN_IN_FAILED: 6,
    # An integration will stop at the grace's end unless someone names a sponsor.
    Action.SERVICE_ACCOUNT_SPONSOR_MISSING: 6,
    Action.SERVICE_ACCOUNT_SPONSOR_CHANGED: 5,
    Action.TOKEN_REVOKED: 5,
    # Someone suspected the token: calls with it fail until it is resumed.
    Action.TOKEN_SUSPENDED: 5,
    Action.TOKEN_RESUMED: 4,
    Action.USER_DEPROVISIONED: 5,
    Action.USER_ROLE_CHANGED: 5,
    Action.POLICY_CHANGED: 5,
    Action.IDENTITY_SETTINGS_CHANGED: 5,
    Action.TOKEN_ROTATED: 4,
    # Approving gives someone a token (medium, like other changes of access); a request and
    # a denial change nothing yet.
    Action.TOKEN_REQUEST_APPROVED: 5,
    Action.TOKEN_REQUESTED: 3,
    Action.TOKEN_REQUEST_DENIED: 3,
}
DEFAULT_SEVERITY = 3


def escape_header(value):
    """Header fields: backslash and pipe are escaped; a line break would end the record, so it
    is written as a space (the spec allows none in the header)."""
    value = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return value.replace("\r", " ").replace("\n", " ")


def escape_extension(value):
    """Extension values: backslash, equals sign and line breaks (as \\n and \\r)."""
    value = str(value).replace("\\", "\\\\").replace("=", "\\=")
    return value.replace("\r", "\\r").replace("\n", "\\n")


def cef_line(event, token_hint=""):
    try:
        label = Action(event.action).label
    except ValueError:
        label = event.action
    header = [
        "CEF:0",
        escape_header(VENDOR),
        escape_header(PRODUCT),
        escape_header(VERSION),
        escape_header(event.action),
        escape_header(label),
        str(SEVERITY.get(event.action, DEFAULT_SEVERITY)),
    ]
    # externalId: the event's public id, so a SIEM can drop the copies that at-least-once
    # delivery may send after an agent restarts.
    extensions = [
        ("rt", int(event.created_at.timestamp() * 1000)),
        ("externalId", event.public_id),
    ]
    if event.actor_email:
        extensions.append(("suser", event.actor_email))
    if event.subject_email:
        extensions.append(("duser", event.subject_email))
    if event.client_ip:
        extensions.append(("src", event.client_ip))
    if event.token_id:
        extensions += [
            ("cs1Label", "tokenName"),
            ("cs1", event.token_name),
            ("cs2Label", "tokenHint"),
            ("cs2", token_hint),
        ]
    if event.detail:
        extensions.append(("msg", event.detail))
    extension = " ".join(f"{key}={escape_extension(value)}" for key, value in extensions)
    return "|".join(header) + "|" + extension
