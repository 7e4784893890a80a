import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tenants.models import Role, Tenant, User
from tests.bad_values import UNMAILABLE_EMAILS
from tests.factories import TenantFactory, TokenFactory, UserFactory
from tokens import crypto
from tokens.models import Token, TokenStatus

ROOT = Path(__file__).resolve().parent.parent
PW = "a long enough passphrase"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createtenant_prints_the_custom_url(db):
    assert run("createtenant", "acme", "--name", "Acme") == "http://acme.us.portal.localhost/\n"
    assert Tenant.objects.get(slug="acme").name == "Acme"


def test_createtenant_takes_a_region(db):
    assert "acme.eu.portal.localhost" in run(
        "createtenant", "acme", "--name", "A", "--region", "eu"
    )


@pytest.mark.parametrize("slug", ["Acme", "acme-", "ac_me", "a" * 64, "", "ac.me", "ac me"])
def test_createtenant_refuses_a_slug_that_is_not_a_dns_label(db, slug):
    with pytest.raises(CommandError, match="DNS label"):
        run("createtenant", slug, "--name", "Acme")
    assert not Tenant.objects.exists()


def test_createtenant_refuses_a_duplicate_slug(tenant):
    with pytest.raises(CommandError, match="already exists"):
        run("createtenant", "contoso", "--name", "Again")


def test_createtenant_refuses_a_blank_name(db):
    with pytest.raises(CommandError, match="blank"):
        run("createtenant", "acme", "--name", "   ")


def test_createuser_creates_a_user_with_tenant_and_role(tenant):
    out = run(
        "createuser",
        "Ann@Contoso.test",
        "--tenant",
        "contoso",
        "--role",
        "full_admin",
        "--password",
        "a long enough passphrase",
    )
    assert out == "Created Full admin ann@contoso.test in tenant contoso.\n"
    user = User.objects.get(email="ann@contoso.test")
    assert user.tenant == tenant and user.role == Role.FULL_ADMIN
    assert user.check_password("a long enough passphrase")


def test_createuser_generates_and_prints_a_password_without_a_terminal(tenant):
    out = run("createuser", "ann@contoso.test", "--tenant", "contoso", "--role", "security_reader")
    password = out.splitlines()[1].removeprefix("Password: ")
    assert User.objects.get(email="ann@contoso.test").check_password(password)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-email", "--tenant", "contoso", "--role", "full_admin"], "Enter a valid email"),
        (["a@b.test", "--tenant", "nope", "--role", "full_admin"], "No tenant"),
        (["a@b.test", "--tenant", "contoso", "--role", "admin"], "Unknown role"),
        (["admin@contoso.test", "--tenant", "contoso", "--role", "full_admin"], "already exists"),
        (
            ["a@b.test", "--tenant", "contoso", "--role", "full_admin", "--password", "123"],
            "Password refused",
        ),
    ],
)
def test_createuser_refuses_bad_input_with_one_line(full_admin, args, message):
    if "--password" not in args:
        args = [*args, "--password", "a long enough passphrase"]
    with pytest.raises(CommandError, match=message) as error:
        run("createuser", *args)
    assert "\n" not in str(error.value)
    assert User.objects.count() == 1


@pytest.mark.parametrize("email", UNMAILABLE_EMAILS.values(), ids=UNMAILABLE_EMAILS)
def test_createuser_refuses_an_address_no_mail_can_be_sent_to(tenant, email):
    with pytest.raises(CommandError) as error:
        run("createuser", email, "--tenant", "contoso", "--role", "full_admin", "--password", PW)
    assert str(error.value) == (
        f"E-mail {email!r} refused: This e-mail address cannot be mailed as written: its "
        "domain has no IDNA (ASCII) form, or that form names another domain."
    )
    assert not User.objects.exists()


@pytest.mark.parametrize("email", ["ann@b\u00fccher.example", "ann@xn--bcher-kva.example"])
def test_createuser_takes_an_internationalised_domain_in_either_form(tenant, email):
    run("createuser", email, "--tenant", "contoso", "--role", "full_admin", "--password", PW)
    assert User.objects.get().email == email


def test_setrole_changes_the_role(operator):
    assert run("setrole", operator.email, "security_reader") == (
        "operator@contoso.test is now Security reader.\n"
    )
    operator.refresh_from_db()
    assert operator.role == Role.SECURITY_READER


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@x.test", "full_admin"], "No user"),
        (["operator@contoso.test", "root"], "Unknown role"),
    ],
)
def test_setrole_refuses_bad_input(operator, args, message):
    with pytest.raises(CommandError, match=message):
        run("setrole", *args)


def test_deprovisionuser_keeps_the_user_but_refuses_it(operator):
    assert "Deprovisioned operator@contoso.test" in run("deprovisionuser", operator.email)
    operator.refresh_from_db()
    assert operator.is_deprovisioned and not operator.is_active
    assert "already" in run("deprovisionuser", operator.email)


def test_deprovisionuser_refuses_an_unknown_email(db):
    with pytest.raises(CommandError, match="No user"):
        run("deprovisionuser", "nobody@x.test")


def test_generatetoken_prints_only_a_working_token_value(operator):
    value = run("generatetoken", operator.email, "--name", "  CI pipeline ")
    assert value.endswith("\n") and value.count("\n") == 1
    value = value.strip()
    assert crypto.is_well_formed(value)
    token = Token.objects.get(digest=crypto.digest(value))
    assert token.owner == operator and token.name == "CI pipeline"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a name"),
        ("   ", "Enter a name"),
        ("x" * 101, "at most 100"),
        ("bad\x07name", "control"),
    ],
)
def test_generatetoken_applies_the_page_name_rules(operator, name, message):
    with pytest.raises(CommandError, match=message):
        run("generatetoken", operator.email, "--name", name)
    assert not Token.objects.exists()


def test_generatetoken_refuses_a_deprovisioned_user(operator):
    operator.deprovision()
    with pytest.raises(CommandError, match="deprovisioned"):
        run("generatetoken", operator.email, "--name", "x")


def test_demo_is_idempotent_and_covers_every_role_and_status(db):
    first = run("demo")
    run("demo")
    assert "admin@contoso.example" in first and "password:" in first
    tenant = Tenant.objects.get(slug="contoso")
    assert set(tenant.users.values_list("role", flat=True)) == set(Role.values)
    assert {t.status for t in Token.objects.api().filter(tenant=tenant)} == set(TokenStatus.values)
    assert Token.objects.api().count() == 13  # two of them service accounts'
    assert tenant.users.filter(deprovisioned_at__isnull=False).count() == 1
    # The former employee's job, refused at each run since, each recorded as a real refusal
    # is (token_record_denial). tests/test_demo.py checks the rest of the story.
    legacy = Token.objects.get(tenant=tenant, name="Legacy sync job")
    assert legacy.last_denied_ip == "192.0.2.50"
    refused = sum(legacy.usage_days.values_list("refused", flat=True))
    assert legacy.audit_events.filter(action="token.denied_deprovisioned").count() == refused > 0
    # Thirty days of use to chart, and one token flagged as used from a new network.
    from tokens.models import TokenNetwork, TokenUsage

    assert TokenUsage.objects.filter(token__tenant=tenant).count() > 60
    flagged = TokenNetwork.objects.unreviewed().filter(token__tenant=tenant)
    assert [(seen.token.name, seen.network) for seen in flagged] == [
        ("SOAR playbooks", "203.0.113.0/24")
    ]
    assert (
        TokenUsage.objects.filter(
            token=legacy, day__lt=legacy.last_used_at.date(), refused__gt=0
        ).count()
        == 0
    )


def test_demo_leaves_other_tenants_with_the_same_emails_and_token_names_alone(other_tenant):
    outsider = UserFactory(tenant=other_tenant, email="admin@contoso.example")
    theirs = TokenFactory(owner=outsider, name="Grafana dashboard")
    run("demo")
    contoso = Tenant.objects.get(slug="contoso")
    assert contoso.users.filter(email="admin@contoso.example").count() == 1
    theirs.refresh_from_db()
    assert theirs.issued_role == outsider.role and theirs.last_denied_at is None
    assert not outsider.tokens.exclude(pk=theirs.pk).exists()


def test_demo_if_empty_leaves_an_existing_database_alone(tenant):
    out = run("demo", "--if-empty")
    assert "not loaded" in out
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["createtenant", "BAD", "--name", "x"],
        ["setrole", "nobody@x.test", "full_admin"],
        ["createuser", "x@y.test"],
        [
            "createserviceaccount",
            "x",
            "--tenant",
            "no",
            "--role",
            "full_admin",
            "--sponsor",
            "a@b.c",
        ],
        ["createserviceaccount", "x", "--tenant", "no"],
        ["generatetoken", "--service-account", "x", "--name", "y"],
    ],
)
def test_commands_print_one_line_and_no_traceback_from_the_shell(args, shell_env):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=shell_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_createuser_prompts_for_the_password_on_a_terminal(tenant, monkeypatch):
    answers = iter(["a long enough passphrase", "a long enough passphrase"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    out = run("createuser", "ann@contoso.test", "--tenant", "contoso", "--role", "security_reader")
    assert "Password:" not in out
    assert User.objects.get(email="ann@contoso.test").check_password("a long enough passphrase")


def test_createuser_refuses_two_different_passwords_at_the_prompt(tenant, monkeypatch):
    answers = iter(["a long enough passphrase", "another passphrase"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="did not match"):
        run("createuser", "ann@contoso.test", "--tenant", "contoso", "--role", "security_reader")
    assert not User.objects.filter(email="ann@contoso.test").exists()


# -- one e-mail in several tenants ------------------------------------------------------------


@pytest.fixture
def twins(tenant, other_tenant):
    return {
        twin.tenant.slug: twin
        for twin in (
            UserFactory(tenant=tenant, email="twin@example.test"),
            UserFactory(tenant=other_tenant, email="twin@example.test"),
        )
    }


def test_createuser_allows_an_email_of_another_tenant_but_not_twice_in_one(twins, tenant):
    with pytest.raises(CommandError, match="already exists in contoso"):
        run("createuser", "TWIN@example.test", "--tenant", "contoso", "--role", "full_admin")
    TenantFactory(slug="northwind")
    out = run(
        "createuser",
        "Twin@Example.test",
        "--tenant",
        "northwind",
        "--role",
        "full_admin",
        "--password",
        "a long enough passphrase",
    )
    assert out == "Created Full admin twin@example.test in tenant northwind.\n"
    assert User.objects.filter(email="twin@example.test").count() == 3


USER_COMMANDS = [
    ("setrole", ["full_admin"]),
    ("deprovisionuser", []),
    ("generatetoken", ["--name", "CI"]),
]


@pytest.mark.parametrize(("command", "extra"), USER_COMMANDS)
def test_commands_refuse_an_email_of_several_tenants_without_tenant(twins, command, extra):
    with pytest.raises(CommandError) as error:
        run(command, "twin@example.test", *extra)
    message = str(error.value)
    assert "several tenants (contoso, fabrikam)" in message and "--tenant" in message
    assert "\n" not in message
    for twin in twins.values():
        twin.refresh_from_db()
        assert twin.role == Role.SECURITY_OPERATOR and twin.is_active
    assert not Token.objects.exists()


@pytest.mark.parametrize(("command", "extra"), USER_COMMANDS)
def test_commands_act_on_the_tenant_named(twins, command, extra):
    run(command, "TWIN@example.test", *extra, "--tenant", "fabrikam")
    chosen, other = twins["fabrikam"], twins["contoso"]
    for twin in twins.values():
        twin.refresh_from_db()
    assert (chosen.role, chosen.is_active, chosen.tokens.count()) != (
        other.role,
        other.is_active,
        other.tokens.count(),
    )
    assert (other.role, other.is_active, other.tokens.count()) == (
        Role.SECURITY_OPERATOR,
        True,
        0,
    )


@pytest.mark.parametrize(("command", "extra"), USER_COMMANDS)
def test_commands_take_tenant_for_an_email_of_one_tenant_too(
    operator, other_tenant, command, extra
):
    run(command, operator.email, *extra, "--tenant", "contoso")
    with pytest.raises(
        CommandError, match="No user with e-mail 'operator@contoso.test' in fabrikam"
    ):
        run(command, operator.email, *extra, "--tenant", "fabrikam")
    with pytest.raises(CommandError, match="No tenant with slug 'nowhere'"):
        run(command, operator.email, *extra, "--tenant", "nowhere")


def test_changepassword_takes_tenant_for_an_email_of_several_tenants(twins, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a long new passphrase")
    with pytest.raises(CommandError, match=r"several tenants \(contoso, fabrikam\)"):
        run("changepassword", "twin@example.test")
    out = run("changepassword", "twin@example.test", "--tenant", "contoso")
    assert "Password changed for twin@example.test in contoso." in out
    twins["contoso"].refresh_from_db()
    twins["fabrikam"].refresh_from_db()
    assert twins["contoso"].check_password("a long new passphrase")
    assert not twins["fabrikam"].check_password("a long new passphrase")


def test_createsuperuser_refuses_a_second_platform_operator_with_one_line(db):
    User.objects.create_superuser("root@platform.test", "a long password")
    with pytest.raises(CommandError, match="already"):
        call_command(
            "createsuperuser", "--noinput", "--email", "ROOT@platform.test", stdout=io.StringIO()
        )


def test_an_email_of_several_tenants_without_tenant_is_one_line_from_the_shell(shell_env):
    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=shell_env,
            capture_output=True,
            text=True,
        )

    for slug in ("shell-a", "shell-b"):
        manage("createtenant", slug, "--name", slug)
        manage("createuser", "shell.twin@example.test", "--tenant", slug, "--role", "full_admin")
    result = manage("deprovisionuser", "shell.twin@example.test")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "CommandError: shell.twin@example.test names users in several tenants (shell-a, "
        "shell-b): say which with --tenant SLUG."
    ]
    assert (
        manage("deprovisionuser", "shell.twin@example.test", "--tenant", "shell-b").returncode == 0
    )
