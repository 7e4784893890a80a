from django.conf import settings
from django.contrib.auth.views import LoginView
from django.shortcuts import render

from audit.models import Action
from audit.services import audit_record
from identity.models import identity_settings_of, password_refusal
from portal import ratelimit
from portal.http import client_ip

from .forms import EmailAuthenticationForm
from .models import User

SIGN_IN_WINDOW = 15 * 60


class PortalLoginView(LoginView):
    """Django's sign-in (session rotated on success), with every attempt audited and failures
    rate-limited per e-mail and address, and per address."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        identity = identity_settings_of(self.request.host_tenant)
        context["sso"] = identity if identity is not None and identity.sso_ready else None
        context["passwords_off"] = identity is not None and not identity.passwords_allowed
        return context

    def post(self, request, *args, **kwargs):
        refusal = password_refusal(request.host_tenant)
        if refusal:
            # This tenant's host takes no passwords at all; nothing is checked or counted.
            audit_record(
                tenant=request.host_tenant,
                action=Action.USER_SIGN_IN_FAILED,
                client_ip=client_ip(request),
                detail="Password sign-in refused: this tenant signs in with single sign-on.",
            )
            context = self.get_context_data(form=self.get_form())
            context["password_refusal"] = refusal
            return self.render_to_response(context, status=403)
        wait = max(
            ratelimit.retry_after(
                "sign-in", self._key(), limit=settings.SIGN_IN_FAILURE_LIMIT, window=SIGN_IN_WINDOW
            ),
            ratelimit.retry_after(
                "sign-in-address",
                client_ip(request) or "unknown",
                limit=settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS,
                window=SIGN_IN_WINDOW,
            ),
        )
        if wait:
            response = render(
                request,
                "registration/login_throttled.html",
                {"minutes": max(1, round(wait / 60))},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def _key(self):
        email = str(self.request.POST.get("username", ""))[:254].strip().lower()
        return f"{client_ip(self.request) or 'unknown'}|{email}"

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
        address = client_ip(self.request) or "unknown"
        ratelimit.hit(
            "sign-in", self._key(), limit=settings.SIGN_IN_FAILURE_LIMIT, window=SIGN_IN_WINDOW
        )
        ratelimit.hit(
            "sign-in-address",
            address,
            limit=settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS,
            window=SIGN_IN_WINDOW,
        )
        # Raw input, as the form refused it: PostgreSQL text cannot hold NUL (a 500 otherwise).
        email = str(form.data.get("username", ""))[:254].strip().replace("\x00", "")
        host_tenant = self.request.host_tenant
        # Recorded in the tenant the attempt concerns: the host's, else the account's (each
        # account's, when the e-mail names users of several tenants). An attempt on another
        # tenant's host is recorded there, never in the account's tenant.
        if host_tenant is not None:
            user = User.objects.with_email(email).filter(tenant=host_tenant).first()
            concerned = [(host_tenant, user)]
        else:
            users = User.objects.with_email(email).filter(tenant__isnull=False)
            concerned = [(user.tenant, user) for user in users.select_related("tenant")]
        for tenant, subject in concerned:
            audit_record(
                tenant=tenant,
                action=Action.USER_SIGN_IN_FAILED,
                subject=subject,
                client_ip=client_ip(self.request),
                detail=f"Sign-in failed for “{email[:100]}”.",
            )
        return super().form_invalid(form)
