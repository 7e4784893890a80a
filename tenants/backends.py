from django.contrib.auth.backends import ModelBackend

from .models import User


class TenantEmailBackend(ModelBackend):
    """E-mail and password sign-in that never crosses tenants.

    On a tenant's custom host only that tenant's users may sign in; on the generic host any
    user may, and the tenant then comes from the user.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = kwargs.get(User.USERNAME_FIELD, username)
        if not email or password is None:
            return None
        users = User._default_manager.filter(email__iexact=email.strip())
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            users = users.filter(tenant=tenant)
        user = users.first()
        if user is None:
            # Hash anyway so a missing account costs the same time as a wrong password and
            # the response time does not reveal which e-mails exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
