import factory
from factory.django import DjangoModelFactory

from tenants.models import Role, Tenant, User
from tokens import crypto
from tokens.models import Token
from web import invalidation

PASSWORD = "correct horse battery staple"


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant{n}")
    name = factory.LazyAttribute(lambda tenant: tenant.slug.title())


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    tenant = factory.SubFactory(TenantFactory)
    role = Role.SECURITY_OPERATOR

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, password=PASSWORD, **kwargs)


class TokenFactory(DjangoModelFactory):
    """A token whose secret nobody knows; use tokens.services.token_issue when a test needs
    to authenticate with it."""

    class Meta:
        model = Token

    owner = factory.SubFactory(UserFactory)
    tenant = factory.LazyAttribute(lambda token: token.owner.tenant)
    name = factory.Sequence(lambda n: f"Token {n}")
    digest = factory.LazyFunction(lambda: crypto.digest(crypto.generate()))
    hint = "atp_test"
    issued_role = factory.LazyAttribute(lambda token: token.owner.role)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        token = super()._create(model_class, *args, **kwargs)
        # As token_issue does: every process counts the tenant's tokens again.
        invalidation.announce(token.tenant_id, invalidation.COUNTS)
        return token
