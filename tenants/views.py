from django.contrib.auth.views import LoginView

from audit.models import Action
from audit.services import audit_record
from portal.http import client_ip

from .forms import EmailAuthenticationForm
from .models import User


class PortalLoginView(LoginView):
    """Django's sign-in (session rotated on success), with every attempt audited."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if user.tenant_id is not None:
            audit_record(
                tenant=user.tenant,
                action=Action.USER_SIGNED_IN,
                actor=user,
                subject=user,
                client_ip=client_ip(self.request),
            )
        return response

    def form_invalid(self, form):
        # Raw input, as the form refused it: PostgreSQL text cannot hold NUL (a 500 otherwise).
        email = str(form.data.get("username", ""))[:254].strip().replace("\x00", "")
        user = User.objects.filter(email__iexact=email).select_related("tenant").first()
        host_tenant = self.request.host_tenant
        # Recorded in the tenant the attempt concerns: the host's, else the account's. An
        # attempt on another tenant's host is recorded there, never in the account's tenant.
        tenant = host_tenant or (user.tenant if user else None)
        if tenant is not None:
            subject = user if user and user.tenant_id == tenant.id else None
            audit_record(
                tenant=tenant,
                action=Action.USER_SIGN_IN_FAILED,
                subject=subject,
                client_ip=client_ip(self.request),
                detail=f"Sign-in failed for “{email[:100]}”.",
            )
        return super().form_invalid(form)
