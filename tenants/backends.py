from django.contrib.auth.backends import ModelBackend

from .models import User
from .permissions import may_sign_in


class TenantEmailBackend(ModelBackend):
    """E-mail and password sign-in that never crosses tenants.

    On a tenant's custom host only that tenant's users may sign in. On the generic host an
    e-mail that names one user signs that user in; one that names users of several tenants
    signs nobody in (EmailAuthenticationForm then says to use the tenant's own address).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = kwargs.get(User.USERNAME_FIELD, username)
        if not email or password is None:
            return None
        users = User.objects.for_sign_in(email, getattr(request, "tenant", None))
        if len(users) != 1:
            # None, or several that the e-mail cannot choose between: no password is checked,
            # but one is hashed anyway, so that the response time says neither which e-mails
            # exist nor whether the password was right.
            User().set_password(password)
            return None
        user = users[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user):
        # Not is_active alone: a service account is refused even with a password set on it.
        return may_sign_in(user)
