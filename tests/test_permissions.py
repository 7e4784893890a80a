"""Who may do what: one table of persona × action × target, asked of tenants.permissions and of
the real pages, API and Django admin, which must agree with it (CONTRACT §2, §5, §7-§9)."""

import pytest
from django.test import Client

from integrations.models import SiemAgent
from tenants import permissions
from tenants.models import Role
from tests.api import api_client
from tests.factories import TokenFactory, UserFactory
from tokens.models import Token, TokenKind

GENERIC = "portal.localhost"
TOKENS_PAGE = "/settings/security-extensions/api-tokens/"
SIEM_PAGE = "/settings/security-extensions/siem-agents/"

# What a request met. Pages: ALLOWED (200, or a redirect past the action), NOT_FOUND (the
# same 404 as a missing page), SIGN_IN (no session: deprovisioning ended it), ADMIN (platform
# operators have no tenant pages). API: ALLOWED (2xx), NOT_FOUND, the three 403s, and
# PAST_WRITE_CHECK (405: the write check let it through; no endpoint creates tokens).
ALLOWED, NOT_FOUND, SIGN_IN, ADMIN = "allowed", "404", "sign-in", "admin"
READ_ONLY = "403 read only"
DEPROVISIONED = "403 deprovisioned"
NOT_FULL_ADMIN = "403 not a full admin"
PAST_WRITE_CHECK = "405"
API_403_DETAIL = {
    READ_ONLY: "Permission denied: this token's owner has read-only access (Security reader).",
    DEPROVISIONED: "permission denied",
    NOT_FULL_ADMIN: "permission denied: the audit log is for full admins' tokens.",
}

PERSONAS = ["full_admin", "operator", "reader", "deprovisioned", "platform"]
OWN, COLLEAGUES, OUTSIDERS = "own", "colleague's", "other tenant's"

# persona, action, target: the module's answer, the page's and the API's (None: no such
# surface; rotation has no endpoint).
TOKEN_TABLE = [
    ("full_admin", "see", OWN, True, ALLOWED, ALLOWED),
    ("full_admin", "see", COLLEAGUES, True, ALLOWED, ALLOWED),
    ("full_admin", "see", OUTSIDERS, False, NOT_FOUND, NOT_FOUND),
    ("full_admin", "revoke", OWN, True, ALLOWED, ALLOWED),
    ("full_admin", "revoke", COLLEAGUES, True, ALLOWED, ALLOWED),
    ("full_admin", "revoke", OUTSIDERS, False, NOT_FOUND, NOT_FOUND),
    ("full_admin", "rotate", OWN, True, ALLOWED, None),
    ("full_admin", "rotate", COLLEAGUES, False, NOT_FOUND, None),
    ("full_admin", "rotate", OUTSIDERS, False, NOT_FOUND, None),
    ("operator", "see", OWN, True, ALLOWED, ALLOWED),
    ("operator", "see", COLLEAGUES, False, NOT_FOUND, NOT_FOUND),
    ("operator", "see", OUTSIDERS, False, NOT_FOUND, NOT_FOUND),
    ("operator", "revoke", OWN, True, ALLOWED, ALLOWED),
    ("operator", "revoke", COLLEAGUES, False, NOT_FOUND, NOT_FOUND),
    ("operator", "revoke", OUTSIDERS, False, NOT_FOUND, NOT_FOUND),
    ("operator", "rotate", OWN, True, ALLOWED, None),
    ("operator", "rotate", COLLEAGUES, False, NOT_FOUND, None),
    ("operator", "rotate", OUTSIDERS, False, NOT_FOUND, None),
    ("reader", "see", OWN, True, ALLOWED, ALLOWED),
    ("reader", "see", COLLEAGUES, False, NOT_FOUND, NOT_FOUND),
    ("reader", "see", OUTSIDERS, False, NOT_FOUND, NOT_FOUND),
    # A reader revokes its own tokens on the page; its read-only token writes nothing.
    ("reader", "revoke", OWN, True, ALLOWED, READ_ONLY),
    ("reader", "revoke", COLLEAGUES, False, NOT_FOUND, READ_ONLY),
    ("reader", "revoke", OUTSIDERS, False, NOT_FOUND, READ_ONLY),
    ("reader", "rotate", OWN, True, ALLOWED, None),
    ("reader", "rotate", COLLEAGUES, False, NOT_FOUND, None),
    ("reader", "rotate", OUTSIDERS, False, NOT_FOUND, None),
    # A deprovisioned full admin: its session ended, every call of its tokens is refused.
    ("deprovisioned", "see", OWN, False, SIGN_IN, DEPROVISIONED),
    ("deprovisioned", "see", COLLEAGUES, False, SIGN_IN, DEPROVISIONED),
    ("deprovisioned", "see", OUTSIDERS, False, SIGN_IN, DEPROVISIONED),
    ("deprovisioned", "revoke", OWN, False, SIGN_IN, DEPROVISIONED),
    ("deprovisioned", "revoke", COLLEAGUES, False, SIGN_IN, DEPROVISIONED),
    ("deprovisioned", "revoke", OUTSIDERS, False, SIGN_IN, DEPROVISIONED),
    ("deprovisioned", "rotate", OWN, False, SIGN_IN, None),
    ("deprovisioned", "rotate", COLLEAGUES, False, SIGN_IN, None),
    ("deprovisioned", "rotate", OUTSIDERS, False, SIGN_IN, None),
    # Platform operators own no token; they see and revoke any in Django admin (below).
    ("platform", "see", COLLEAGUES, True, ADMIN, None),
    ("platform", "see", OUTSIDERS, True, ADMIN, None),
    ("platform", "revoke", COLLEAGUES, True, ADMIN, None),
    ("platform", "revoke", OUTSIDERS, True, ADMIN, None),
    ("platform", "rotate", COLLEAGUES, False, ADMIN, None),
    ("platform", "rotate", OUTSIDERS, False, ADMIN, None),
]

# persona, action on its tenant: the module's answer, the page's and the API's.
TENANT_TABLE = [
    ("full_admin", "see audit log", True, ALLOWED, ALLOWED),
    ("full_admin", "set policy", True, ALLOWED, None),
    ("full_admin", "manage identity", True, ALLOWED, None),
    ("full_admin", "manage integrations", True, ALLOWED, None),
    ("full_admin", "write", True, None, PAST_WRITE_CHECK),
    ("operator", "see audit log", False, NOT_FOUND, NOT_FULL_ADMIN),
    ("operator", "set policy", False, NOT_FOUND, None),
    ("operator", "manage identity", False, NOT_FOUND, None),
    ("operator", "manage integrations", False, NOT_FOUND, None),
    ("operator", "write", True, None, PAST_WRITE_CHECK),
    ("reader", "see audit log", False, NOT_FOUND, NOT_FULL_ADMIN),
    ("reader", "set policy", False, NOT_FOUND, None),
    ("reader", "manage identity", False, NOT_FOUND, None),
    ("reader", "manage integrations", False, NOT_FOUND, None),
    ("reader", "write", False, None, READ_ONLY),
    ("deprovisioned", "see audit log", False, SIGN_IN, DEPROVISIONED),
    ("deprovisioned", "set policy", False, SIGN_IN, None),
    ("deprovisioned", "manage identity", False, SIGN_IN, None),
    ("deprovisioned", "manage integrations", False, SIGN_IN, None),
    ("deprovisioned", "write", False, None, DEPROVISIONED),
    ("platform", "see audit log", False, ADMIN, None),
    ("platform", "set policy", False, ADMIN, None),
    ("platform", "manage identity", False, ADMIN, None),
    ("platform", "manage integrations", False, ADMIN, None),
    ("platform", "write", False, None, None),
]

MODULE_QUESTION = {
    "see": permissions.may_see_token,
    "revoke": permissions.may_revoke_token,
    "rotate": permissions.may_rotate_token,
    "see audit log": permissions.may_see_audit_log,
    "set policy": permissions.may_set_token_policy,
    "manage identity": permissions.may_manage_identity,
    "manage integrations": permissions.may_manage_integrations,
    "write": permissions.may_write,
}


class World:
    """Contoso with one user per persona, each with an API token; a colleague and another
    tenant's admin with theirs; a platform operator."""

    def __init__(self, tenant, other_tenant_admin, issue):
        self.issue = issue
        self.users, self.secrets, self.tokens = {}, {}, {}
        for persona, role in [
            ("full_admin", Role.FULL_ADMIN),
            ("operator", Role.SECURITY_OPERATOR),
            ("reader", Role.SECURITY_READER),
            ("deprovisioned", Role.FULL_ADMIN),
            ("colleague", Role.SECURITY_OPERATOR),
        ]:
            self.add(persona, UserFactory(tenant=tenant, role=role, email=f"{persona}@c.test"))
        self.add("outsider", other_tenant_admin)
        self.users["platform"] = UserFactory(
            tenant=None, is_staff=True, is_superuser=True, email="root@platform.test"
        )
        self.clients = {persona: self.page_client(persona) for persona in PERSONAS}
        self.users["deprovisioned"].deprovision()  # after signing in: its session ends

    def add(self, persona, user):
        token, secret = self.issue(user, name=f"{persona}'s token")
        self.users[persona], self.tokens[persona], self.secrets[persona] = user, token, secret

    def page_client(self, persona):
        user = self.users[persona]
        client = Client(HTTP_HOST=user.tenant.host if user.tenant else GENERIC)
        client.force_login(user)
        return client

    def target(self, persona, target):
        return self.tokens[{OWN: persona, COLLEAGUES: "colleague", OUTSIDERS: "outsider"}[target]]

    def user(self, persona):
        user = self.users[persona]
        user.refresh_from_db()
        return user


@pytest.fixture
def world(tenant, other_tenant_admin, issue):
    return World(tenant, other_tenant_admin, issue)


def page_outcome(response):
    if response.status_code != 302:
        return {200: ALLOWED, 404: NOT_FOUND}[response.status_code]
    if response["Location"].startswith("/login/"):
        return SIGN_IN
    return ADMIN if response["Location"] == "/admin/" else ALLOWED


def api_outcome(response):
    if 200 <= response.status_code < 300:
        return ALLOWED
    if response.status_code == 404:
        assert response.json() == {"detail": "No such token."}
        return NOT_FOUND
    if response.status_code == 405:
        return PAST_WRITE_CHECK
    assert response.status_code == 403
    return {detail: label for label, detail in API_403_DETAIL.items()}[response.json()["detail"]]


def token_page_request(client, action, token):
    url = f"{TOKENS_PAGE}{token.pk}/"
    return client.get(url) if action == "see" else client.post(f"{url}{action}/")


def token_api_request(client, action, token):
    url = f"/api/v1/tokens/{token.pk}/"
    return client.get(url) if action == "see" else client.delete(url)


def cases(table):
    return [pytest.param(*row, id="-".join(map(str, row[:-3]))) for row in table]


TOKEN_COLUMNS = ("persona", "action", "target", "module", "page", "api")
API_ROWS = [row for row in TOKEN_TABLE if row[-1] is not None]


# Pages and API apart, so that each revocation finds its token live.
@pytest.mark.parametrize(TOKEN_COLUMNS, cases(TOKEN_TABLE))
def test_pages_answer_on_tokens_as_the_module_says(
    world, persona, action, target, module, page, api
):
    token = world.target(persona, target)
    assert MODULE_QUESTION[action](world.user(persona), token) is module
    assert page_outcome(token_page_request(world.clients[persona], action, token)) == page
    token.refresh_from_db()
    assert token.is_revoked is (action == "revoke" and page == ALLOWED)


@pytest.mark.parametrize(TOKEN_COLUMNS, cases(API_ROWS))
def test_the_api_answers_on_tokens_as_the_module_says(
    world, persona, action, target, module, page, api
):
    token = world.target(persona, target)
    response = token_api_request(api_client(world.secrets[persona]), action, token)
    assert api_outcome(response) == api
    token.refresh_from_db()
    assert token.is_revoked is (action == "revoke" and api == ALLOWED)


TENANT_PAGES = {
    "see audit log": ("get", "/settings/audit-log/"),
    "set policy": ("post", f"{TOKENS_PAGE}policy/"),
    "manage identity": ("get", "/settings/identity/"),
    "manage integrations": ("get", SIEM_PAGE),
}
TENANT_API = {"see audit log": ("get", "/api/v1/audit/"), "write": ("post", "/api/v1/tokens/")}


@pytest.mark.parametrize(("persona", "action", "module", "page", "api"), cases(TENANT_TABLE))
def test_pages_and_api_answer_on_the_tenant_as_the_module_says(
    world, tenant, persona, action, module, page, api
):
    assert MODULE_QUESTION[action](world.user(persona)) is module
    if page is not None:
        method, url = TENANT_PAGES[action]
        data = {"token_expiry_required": "on"} if method == "post" else None
        assert page_outcome(getattr(world.clients[persona], method)(url, data)) == page
    tenant.refresh_from_db()
    assert tenant.token_expiry_required is (action == "set policy" and page == ALLOWED)
    if api is not None:
        method, url = TENANT_API[action]
        response = getattr(api_client(world.secrets[persona]), method)(url)
        assert api_outcome(response) == api


# The tenant's own tokens (agents, collectors, identity providers) are its full admins' to see,
# revoke and regenerate, whoever created them; other tenants' are nobody's here.
TENANT_TOKEN_TABLE = [
    # persona, in its tenant, page; in another tenant, page
    ("full_admin", True, ALLOWED, False, NOT_FOUND),
    ("operator", False, NOT_FOUND, False, NOT_FOUND),
    ("reader", False, NOT_FOUND, False, NOT_FOUND),
    ("deprovisioned", False, SIGN_IN, False, SIGN_IN),
]


def siem_agent(owner):
    token = TokenFactory(owner=owner, kind=TokenKind.SIEM)
    fields = {"format": "cef", "host": "siem.example.com", "port": 514}
    return SiemAgent.objects.create(
        tenant=owner.tenant, name=token.name, token=token, created_by=owner, **fields
    )


@pytest.mark.parametrize("kind", [TokenKind.SIEM, TokenKind.LOG_COLLECTOR, TokenKind.PROVISIONING])
@pytest.mark.parametrize(("persona", "ours", "page", "theirs", "their_page"), TENANT_TOKEN_TABLE)
def test_the_module_gives_the_tenants_tokens_to_its_full_admins(
    world, persona, ours, page, theirs, their_page, kind
):
    user = world.user(persona)
    for owner, expected in (("colleague", ours), ("outsider", theirs)):
        token = TokenFactory(owner=world.users[owner], kind=kind)
        assert permissions.may_see_token(user, token) is expected
        assert permissions.may_revoke_token(user, token) is expected
        assert permissions.may_rotate_token(user, token) is expected


@pytest.mark.parametrize(("persona", "ours", "page", "theirs", "their_page"), TENANT_TOKEN_TABLE)
def test_pages_give_the_tenants_tokens_to_its_full_admins(
    world, persona, ours, page, theirs, their_page
):
    client = world.clients[persona]
    for owner, expected in (("colleague", page), ("outsider", their_page)):
        agent = siem_agent(world.users[owner])
        provisioning = TokenFactory(owner=world.users[owner], kind=TokenKind.PROVISIONING)
        agent_url = f"{SIEM_PAGE}{agent.public_id}/"
        assert page_outcome(client.post(f"{agent_url}regenerate/")) == expected
        assert page_outcome(client.post(f"{agent_url}delete/")) == expected
        revoke = f"/settings/identity/tokens/{provisioning.pk}/revoke/"
        assert page_outcome(client.post(revoke)) == expected
        provisioning.refresh_from_db()
        assert provisioning.is_revoked is (expected == ALLOWED)


def test_a_tenants_token_stays_its_full_admins_when_its_creator_is_demoted(world):
    creator = world.users["operator"]
    token = TokenFactory(owner=creator, kind=TokenKind.SIEM)
    assert not permissions.may_see_token(creator, token)
    assert not permissions.may_rotate_token(creator, token)
    assert permissions.may_rotate_token(world.user("full_admin"), token)


def test_platform_operators_see_tokens_of_any_tenant_in_django_admin_but_never_rotate(world):
    platform = world.user("platform")
    for token in (world.tokens["colleague"], world.tokens["outsider"]):
        assert permissions.may_see_token(platform, token)
        assert not permissions.may_rotate_token(platform, token)
        assert (
            world.clients["platform"].get(f"/admin/tokens/token/{token.pk}/change/").status_code
            == 200
        )
    action = {"action": "revoke_selected", "_selected_action": [str(world.tokens["outsider"].pk)]}
    world.clients["platform"].post("/admin/tokens/token/", action)
    assert Token.objects.get(pk=world.tokens["outsider"].pk).is_revoked


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_platform_operators_may_use_django_admin(world, persona):
    assert permissions.may_use_admin(world.user(persona)) is (persona == "platform")


@pytest.mark.parametrize("persona", [*PERSONAS, "colleague", "outsider"])
def test_listings_show_exactly_the_tokens_the_module_lets_each_persona_see(world, persona):
    user = world.user(persona)
    TokenFactory(owner=world.users["full_admin"], kind=TokenKind.SIEM)
    TokenFactory(owner=world.users["outsider"], kind=TokenKind.PROVISIONING)
    listed = set(Token.objects.visible_to(user))
    assert listed == {
        token for token in Token.objects.live() if permissions.may_see_token(user, token)
    }


def test_anonymous_users_may_do_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    nobody = AnonymousUser()
    tenant_actions = ["see audit log", "set policy", "manage identity", "manage integrations"]
    assert not any(MODULE_QUESTION[action](nobody) for action in [*tenant_actions, "write"])
    assert not permissions.may_see_token(nobody, world.tokens["full_admin"])
    assert not permissions.may_use_admin(nobody)
    assert not Token.objects.visible_to(nobody).exists()


# --- Privileges follow the role of now --------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "writes", "sees_others"),
    [
        (Role.FULL_ADMIN, True, True),
        (Role.SECURITY_OPERATOR, True, False),
        (Role.SECURITY_READER, False, False),
    ],
)
def test_each_role_has_its_contract_rules(tenant, role, writes, sees_others):
    user = UserFactory(tenant=tenant, role=role)
    assert permissions.may_write(user) is writes
    assert permissions.may_see_others_tokens(user) is sees_others
    assert permissions.may_revoke_others_tokens(user) is sees_others


def test_a_user_writes_according_to_its_current_role(operator):
    assert permissions.may_write(operator)
    operator.set_role(Role.SECURITY_READER)
    operator.refresh_from_db()
    assert not permissions.may_write(operator)


def test_a_deprovisioned_user_may_do_nothing(full_admin):
    full_admin.deprovision()
    assert not permissions.may_write(full_admin)
    assert not permissions.may_call_api(full_admin)
    assert not permissions.may_see_others_tokens(full_admin)


# --- Templates show only what the module allows ------------------------------------------------


@pytest.mark.parametrize("persona", ["full_admin", "operator", "reader"])
def test_menus_and_buttons_follow_the_module(world, persona):
    user = world.user(persona)
    html = world.clients[persona].get(TOKENS_PAGE).text
    links = {
        'href="/settings/audit-log/"': permissions.may_see_audit_log(user),
        'href="/settings/identity/"': permissions.may_manage_identity(user),
        'href="/settings/log-collectors/"': permissions.may_manage_integrations(user),
        f'href="{TOKENS_PAGE}policy/"': permissions.may_set_token_policy(user),
        f'action="{TOKENS_PAGE}{world.tokens[persona].pk}/rotate/"': True,
        f'action="{TOKENS_PAGE}{world.tokens["colleague"].pk}/rotate/"': False,
    }
    assert {link: link in html for link in links} == links
    privileges = "read and write" if permissions.may_write(user) else "read only"
    assert f"<strong>{privileges}</strong>" in html
