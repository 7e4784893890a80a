import pytest
from django.test import Client

from tests.api import api_client
from tests.factories import PASSWORD
from tokens import crypto


@pytest.fixture
def low_limits(settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    settings.SIGN_IN_FAILURE_LIMIT = 3
    settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = 5


def test_repeated_bad_tokens_from_one_address_get_429_with_retry_after(db, low_limits):
    client = api_client(crypto.generate())
    codes = [client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    response = client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1")
    assert int(response["Retry-After"]) >= 1
    assert "Too many failed authentications" in response.json()["detail"]


def test_a_valid_token_from_a_limited_address_still_works(issue, operator, low_limits):
    _, secret = issue(operator)
    bad = api_client(crypto.generate())
    for _ in range(5):
        bad.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1")
    assert api_client(secret).get("/api/v1/me/", REMOTE_ADDR="203.0.113.1").status_code == 200


def test_other_addresses_are_not_limited(db, low_limits):
    client = api_client(crypto.generate())
    for _ in range(5):
        client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.1")
    assert client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.2").status_code == 401


def test_the_address_comes_from_x_forwarded_for_only_behind_trusted_proxies(
    db, low_limits, settings
):
    settings.TRUSTED_PROXIES = 1
    client = api_client(crypto.generate())
    for n in range(5):
        client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 401


def sign_in(client, email, password, address="203.0.113.5"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def test_sign_in_pauses_after_repeated_failures_for_one_account(operator, low_limits):
    client = Client(HTTP_HOST=operator.tenant.host)
    for _ in range(3):
        assert sign_in(client, operator.email, "wrong").status_code == 200
    response = sign_in(client, operator.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert int(response["Retry-After"]) >= 1


def test_the_pause_does_not_lock_the_user_out_from_elsewhere(operator, low_limits):
    client = Client(HTTP_HOST=operator.tenant.host)
    for _ in range(3):
        sign_in(client, operator.email, "wrong", address="203.0.113.5")
    assert sign_in(client, operator.email, PASSWORD, address="192.0.2.8").status_code == 302


def test_one_address_trying_many_accounts_is_paused(tenant, low_limits):
    client = Client(HTTP_HOST=tenant.host)
    for n in range(5):
        sign_in(client, f"guess{n}@contoso.test", "wrong")
    assert sign_in(client, "another@contoso.test", "wrong").status_code == 429
