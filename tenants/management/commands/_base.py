from django.core.management.base import CommandError

from tenants.models import Role, ServiceAccount, Tenant, User
from web.commands import shown

SLUGS_SHOWN = 10  # tenants an ambiguous e-mail's error lists, to stay one short line


def find_user(email, tenant=None):
    """The one user an e-mail names, in the tenant with slug `tenant` when given.

    E-mails are unique per tenant only: an e-mail that names users of several tenants needs
    --tenant (every command taking an e-mail offers it through add_user_arguments).
    """
    email = email.strip()
    # No stored e-mail is longer than its column, and SQLite refuses a LIKE pattern of a
    # megabyte outright: a longer value is no user, without asking the database.
    too_long = len(email) > User._meta.get_field("email").max_length
    users = User.objects.none() if too_long else User.objects.with_email(email)
    if tenant is not None:
        if not Tenant.objects.filter(slug=tenant).exists():
            raise CommandError(f"No tenant with slug {shown(tenant)}.")
        users = users.filter(tenant__slug=tenant)
    found = list(users.select_related("tenant").order_by("tenant__slug")[: SLUGS_SHOWN + 1])
    if not found:
        where = "" if tenant is None else f" in {tenant}"
        raise CommandError(f"No user with e-mail {shown(email)}{where}.")
    if len(found) > 1:
        slugs = [user.tenant.slug if user.tenant else "(platform)" for user in found]
        slugs = ", ".join(slugs[:SLUGS_SHOWN] + ["…"] * (len(slugs) > SLUGS_SHOWN))
        raise CommandError(
            f"{found[0].email} names users in several tenants ({slugs}): say which with "
            "--tenant SLUG."
        )
    return found[0]


def add_user_arguments(parser, email_optional=False):
    """EMAIL and --tenant, for commands that act on one user (EMAIL optional where another
    argument may name the user instead)."""
    parser.add_argument("email", nargs="?" if email_optional else None)
    parser.add_argument(
        "--tenant", metavar="SLUG", help="the user's tenant, where the e-mail names several"
    )


def add_owner_arguments(parser, what_for):
    """EMAIL, or --service-account NAME, and --tenant: for commands that act on an owner's
    tokens (find_owner)."""
    add_user_arguments(parser, email_optional=True)
    parser.add_argument(
        "--service-account",
        metavar="NAME",
        help=f"the service account of --tenant {what_for}, instead of EMAIL",
    )


def find_owner(email, tenant, service_account):
    """The user EMAIL names (find_user), or the service account NAME of tenant SLUG."""
    if service_account is None:
        if email is None:
            raise CommandError("Name the token's owner: EMAIL, or --service-account NAME.")
        return find_user(email, tenant)
    if email is not None:
        raise CommandError("Give EMAIL or --service-account, not both.")
    if tenant is None:
        raise CommandError("--service-account needs --tenant SLUG.")
    account = (
        ServiceAccount.objects.filter(tenant__slug=tenant)
        .named(service_account)
        .select_related("user__tenant")
        .first()
    )
    if account is None:
        raise CommandError(f"No service account {shown(service_account)} in {shown(tenant)}.")
    return account.user


def owner_label(user, *, starts_sentence=False):
    """How a command names a user: a service account by its name, never by its placeholder
    address (SERVICE_ACCOUNT_DOMAIN); anyone else by e-mail."""
    account = user.service_account_name
    if account is None:
        return user.email
    return f"{'S' if starts_sentence else 's'}ervice account {account}"


def parse_role(value):
    if value not in Role.values:
        raise CommandError(f"Unknown role {shown(value)}; use one of: {', '.join(Role.values)}.")
    return Role(value)
