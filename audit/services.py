from .models import AuditEvent, Via


def audit_record(
    *, tenant, action, actor=None, subject=None, token=None, via=Via.PAGE, client_ip=None, detail=""
):
    """Append one event. The tenant is explicit so no event can land in the wrong tenant.
    The model cleans and cuts the detail (AuditEvent.save)."""
    return AuditEvent.objects.create(
        tenant=tenant,
        action=action,
        via=via,
        actor=actor,
        actor_email=actor.email if actor else "",
        subject=subject,
        subject_email=subject.email if subject else "",
        token=token,
        token_name=token.name if token else "",
        client_ip=client_ip,
        detail=detail,
    )


def audit_token_event(token, action, *, via=Via.PAGE, actor=None, client_ip=None, detail=""):
    """Append an event about a token: in its tenant, about its owner. Any object with tenant,
    owner and name will do (audit stands below tokens and knows none of them)."""
    return audit_record(
        tenant=token.tenant,
        action=action,
        via=via,
        actor=actor,
        subject=token.owner,
        token=token,
        client_ip=client_ip,
        detail=detail,
    )


def audit_user_event(
    user, action, *, via=Via.PAGE, actor=None, token=None, client_ip=None, detail=""
):
    """Append an event about a user of a tenant, in its tenant (any object with tenant and
    email will do)."""
    return audit_record(
        tenant=user.tenant,
        action=action,
        via=via,
        actor=actor,
        subject=user,
        token=token,
        client_ip=client_ip,
        detail=detail,
    )
