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
