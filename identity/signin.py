import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import LoginView, LogoutView
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from audit.services import audit_record
from tenants.models import User
from web import ratelimit
from web.http import client_ip

from .models import identity_settings_of, password_refusal
from .signin_forms import EmailAuthenticationForm, PlatformAuthenticationForm

SIGN_IN_WINDOW = 15 * 60

# Sign-ins that concern no tenant (platform operators, unknown accounts on the generic host)
# have no audit trail to go to: they are logged here, one line each.
logger = logging.getLogger("portal.signin")


# An address an account signed in from within this many days passes its per-account limit.
KNOWN_ADDRESS_DAYS = 90


def signed_in_from_before(email, address):
    """Whether an account with this e-mail signed in from address's network lately (the
    rate-limit key: the address, or an IPv6 client's /64). Asked only of a locked account."""
    key = ratelimit.address_key(address)
    if key == "unknown":
        return False
    since = timezone.now() - timedelta(days=KNOWN_ADDRESS_DAYS)
    addresses = (
        AuditEvent.objects.filter(
            action=Action.USER_SIGNED_IN,
            subject__in=User.objects.with_email(email),
            created_at__gte=since,
            client_ip__isnull=False,
        )
        .values_list("client_ip", flat=True)
        .distinct()[:500]
    )
    return any(ratelimit.address_key(known) == key for known in addresses)


def record_lock_out(email, address):
    """Audit, in each tenant with an account of that e-mail, that its password sign-ins are
    refused for the rest of the window: once, by whichever failure reached the limit. The
    account's owner is told by e-mail (notifications)."""
    limit = settings.SIGN_IN_FAILURE_LIMIT_PER_ACCOUNT
    for user in User.objects.with_email(email).exclude(tenant=None).select_related("tenant"):
        audit_record(
            tenant=user.tenant,
            action=Action.USER_SIGN_IN_LOCKED,
            subject=user,
            client_ip=address,
            detail=f"Password sign-in locked for up to {SIGN_IN_WINDOW // 60} minutes after "
            f"{limit} failed attempts, from any address; addresses this account signed in "
            f"from in the past {KNOWN_ADDRESS_DAYS} days may still sign in.",
        )


class SignInView(LoginView):
    """Every password form (the portal's /login/ and Django admin's): Django's sign-in
    (session rotated on success), with failures rate-limited per e-mail and address and per
    address, in counts both forms share, and every attempt audited in the tenant it concerns,
    or logged when it concerns none."""

    login_url_name = "login"  # where the throttled page leads back to
    audit_where = ""  # appended to the audit detail: which form

    def post(self, request, *args, **kwargs):
        address, email = client_ip(request), self._email()
        wait = max(
            ratelimit.retry_after(
                "sign-in", self._key(), limit=settings.SIGN_IN_FAILURE_LIMIT, window=SIGN_IN_WINDOW
            ),
            ratelimit.retry_after(
                "sign-in-address",
                ratelimit.address_key(address),
                limit=settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS,
                window=SIGN_IN_WINDOW,
            ),
            self._account_wait(email, address),
        )
        if wait:
            response = render(
                request,
                "registration/login_throttled.html",
                {"minutes": max(1, round(wait / 60)), "login_url": reverse(self.login_url_name)},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def _email(self):
        return str(self.request.POST.get("username", ""))[:254].strip().lower()

    def _key(self):
        return f"{ratelimit.address_key(client_ip(self.request))}|{self._email()}"

    @staticmethod
    def _account_wait(email, address):
        """The per-account limit, across every address (review 3, finding 5). An address the
        account signed in from lately goes through, so that guessing from elsewhere cannot
        lock its owner out."""
        wait = ratelimit.retry_after(
            "sign-in-account",
            email,
            limit=settings.SIGN_IN_FAILURE_LIMIT_PER_ACCOUNT,
            window=SIGN_IN_WINDOW,
        )
        return 0 if wait and signed_in_from_before(email, address) else wait

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        address = client_ip(self.request)
        if user.tenant_id is not None:
            audit_record(
                tenant=user.tenant,
                action=Action.USER_SIGNED_IN,
                actor=user,
                subject=user,
                client_ip=address,
            )
        else:
            logger.info(
                "Platform operator “%s” signed in at %s from %s.",
                user.email,
                self.request.path,
                address or "an unknown address",
            )
        return response

    def form_invalid(self, form):
        address = client_ip(self.request)
        ratelimit.hit(
            "sign-in", self._key(), limit=settings.SIGN_IN_FAILURE_LIMIT, window=SIGN_IN_WINDOW
        )
        ratelimit.hit(
            "sign-in-address",
            ratelimit.address_key(address),
            limit=settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS,
            window=SIGN_IN_WINDOW,
        )
        email = self._email()
        if email:
            ratelimit.hit(
                "sign-in-account",
                email,
                limit=settings.SIGN_IN_FAILURE_LIMIT_PER_ACCOUNT,
                window=SIGN_IN_WINDOW,
                on_limit=lambda: record_lock_out(email, address),
            )
        # Raw input, as the form refused it: PostgreSQL text cannot hold NUL (a 500 otherwise).
        email = str(form.data.get("username", ""))[:254].strip().replace("\x00", "")
        host_tenant = self.request.host_tenant
        # Recorded in the tenant the attempt concerns: the host's, else the account's (each
        # account's, when the e-mail names users of several tenants). An attempt on another
        # tenant's host is recorded there, never in the account's tenant.
        users = User.objects.with_email(email).select_related("tenant")
        if host_tenant is not None:
            concerned = [(host_tenant, users.filter(tenant=host_tenant).first())]
        else:
            concerned = [(user.tenant, user) for user in users]
        for tenant, user in concerned:
            if tenant is None:
                logger.warning(
                    "Sign-in failed for platform operator “%s” at %s from %s.",
                    user.email,
                    self.request.path,
                    address or "an unknown address",
                )
                continue
            # The account's own e-mail, never what was typed: a mistyped field holds anything,
            # a pasted token included (CONTRACT §6).
            account = f"“{user.email}”" if user else "an unknown account"
            audit_record(
                tenant=tenant,
                action=Action.USER_SIGN_IN_FAILED,
                subject=user,
                client_ip=address,
                detail=f"Sign-in failed for {account}{self.audit_where}.",
            )
        if not concerned:
            logger.warning(
                "Sign-in failed for an unknown account at %s from %s.",
                self.request.path,
                address or "an unknown address",
            )
        return super().form_invalid(form)


class PortalLoginView(SignInView):
    """/login/: the tenant's sign-in page, which offers its single sign-on and refuses
    passwords where the tenant turned them off."""

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
        return super().post(request, *args, **kwargs)


class AdminLoginView(SignInView):
    """Django admin's sign-in (portal.admin_site): platform operators only, with the same
    limits and records as /login/. The context is the one AdminSite.login gives its page."""

    admin_site = None
    authentication_form = PlatformAuthenticationForm
    template_name = "admin/login.html"
    login_url_name = "admin:login"
    audit_where = " at Django admin"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request = self.request
        context.update(
            self.admin_site.each_context(request),
            title="Log in",
            subtitle=None,
            app_path=request.get_full_path(),
            username=request.user.get_username(),
        )
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index")
        return context

    def get_default_redirect_url(self):
        return reverse("admin:index")


class PortalLogoutView(LogoutView):
    """Django's sign-out, which lands on the sign-in page: saying so there, as that page alone
    does not tell a user who just clicked "Sign out" that it worked."""

    def post(self, request, *args, **kwargs):
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.success(request, "You are signed out.")
        return response
