import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.api import api_client
from tests.factories import TokenFactory
from tokens.models import Token
from web import invalidation

NEW = "/settings/security-extensions/api-tokens/new/"
LIST = "/settings/security-extensions/api-tokens/"


def generate(client, **data):
    return client.post(NEW, {"name": "CI", "form_id": uuid.uuid4().hex, **data})


@pytest.mark.parametrize("days", [30, 90, 365])
def test_a_token_can_expire_after_a_chosen_number_of_days(signed_in, operator, days):
    assert generate(signed_in(operator), expiry=str(days)).status_code == 200
    expires = Token.objects.get().expires_at
    assert abs(expires - (timezone.now() + timedelta(days=days))) < timedelta(minutes=1)


def test_no_expiry_is_the_default_for_a_bare_name(signed_in, operator):
    generate(signed_in(operator))
    assert Token.objects.get().expires_at is None


def test_a_token_can_expire_on_a_date(signed_in, operator):
    day = (timezone.now() + timedelta(days=10)).date()
    generate(signed_in(operator), expiry="custom", expiry_date=day.isoformat())
    assert Token.objects.get().expires_at == datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"expiry": "custom"}, "Choose the date the token expires on."),
        ({"expiry": "custom", "expiry_date": "2020-01-01"}, "Choose a date in the future."),
        ({"expiry": "custom", "expiry_date": "31/12/2030"}, "Enter a date as YYYY-MM-DD."),
        ({"expiry": "7"}, "Select a valid choice."),
        ({"expiry": "-30"}, "Select a valid choice."),
    ],
)
def test_bad_expiry_input_is_refused_inline(signed_in, operator, data, message):
    response = generate(signed_in(operator), **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Token.objects.exists()


def test_a_required_expiry_removes_no_expiry(signed_in, operator, tenant):
    tenant.token_expiry_required = True
    tenant.save()
    client = signed_in(operator)
    assert 'value="none"' not in client.get(NEW).content.decode()
    response = generate(client)
    assert response.status_code == 400
    assert "requires tokens to expire" in response.content.decode()


def test_a_maximum_lifetime_caps_the_choices_and_dates(signed_in, operator, tenant):
    tenant.token_max_lifetime_days = 90
    tenant.save()
    client = signed_in(operator)
    html = client.get(NEW).content.decode()
    assert 'value="365"' not in html and 'value="none"' not in html and 'value="90"' in html
    assert generate(client, expiry="365").status_code == 400
    far = (timezone.now() + timedelta(days=120)).date().isoformat()
    response = generate(client, expiry="custom", expiry_date=far)
    assert "at most 90 days" in response.content.decode()
    assert generate(client, expiry="90").status_code == 200


def test_an_expired_token_gets_401_saying_it_expired(issue, operator):
    token, secret = issue(operator, expires_at=timezone.now() + timedelta(days=1))
    client = api_client(secret)
    assert client.get("/api/v1/me/").status_code == 200
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    invalidation.announce(token.tenant_id)  # as the write that changed it would
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This token expired on")
    assert response["WWW-Authenticate"] == "Token"


def test_expired_tokens_have_their_own_status_and_filter(signed_in, operator):
    TokenFactory(
        owner=operator,
        name="gone",
        expires_at=timezone.now() - timedelta(days=1),
        last_used_at=timezone.now(),
    )
    TokenFactory(owner=operator, name="fine")
    client = signed_in(operator)
    response = client.get(LIST, {"status": "expired"})
    assert [t.name for t in response.context["page"].object_list] == ["gone"]
    assert "badge-expired" in response.content.decode()
    active = client.get(LIST, {"status": "active"}).context["page"].object_list
    assert [t.name for t in active] == []


def test_tokens_expiring_within_7_days_are_flagged(signed_in, operator):
    TokenFactory(owner=operator, expires_at=timezone.now() + timedelta(days=3))
    TokenFactory(owner=operator, expires_at=timezone.now() + timedelta(days=30))
    html = signed_in(operator).get(LIST).content.decode()
    assert html.count('class="expiry soon"') == 1
    assert html.count('class="expiry"') == 1


def test_full_admins_set_the_token_policy(signed_in, full_admin, tenant):
    response = signed_in(full_admin).post(
        "/settings/security-extensions/api-tokens/policy/",
        {
            "token_expiry_required": "on",
            "token_max_lifetime_days": "90",
            "token_inactive_revoke_days": "60",
        },
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.token_expiry_required and tenant.token_max_lifetime_days == 90
    assert tenant.token_inactive_revoke_days == 60
    assert tenant.audit_events.get(action="tenant.policy_changed").actor == full_admin


@pytest.mark.parametrize("value", ["0", "-1", "abc", "3651", "1e3"])
def test_bad_policy_values_are_refused(signed_in, full_admin, tenant, value):
    response = signed_in(full_admin).post(
        "/settings/security-extensions/api-tokens/policy/", {"token_max_lifetime_days": value}
    )
    assert response.status_code == 400
    tenant.refresh_from_db()
    assert tenant.token_max_lifetime_days is None


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_only_full_admins_see_the_policy(request, signed_in, persona):
    client = signed_in(request.getfixturevalue(persona))
    assert client.get("/settings/security-extensions/api-tokens/policy/").status_code == 404


# --- Expiry as a date and a number of days (UX round 3, finding 8) ---------------------------


def test_the_expiry_choices_name_the_days_and_the_date_they_end(tenant):
    from tokens.forms import TokenGenerateForm

    form = TokenGenerateForm(tenant=tenant, now=datetime(2026, 12, 6, 15, 30, tzinfo=UTC))
    assert form.fields["expiry"].choices == [
        ("none", "No expiry"),
        ("30", "30 days (5 January 2027)"),
        ("90", "90 days (6 March 2027)"),
        ("365", "365 days (6 December 2027)"),
        ("custom", "On a date…"),
    ]


def test_the_dialogs_default_expiry_shows_its_date(signed_in, operator):
    day = (timezone.now() + timedelta(days=90)).astimezone(UTC)
    html = signed_in(operator).get(NEW).content.decode()
    assert f'<option value="90" selected>90 days ({day.day} {day:%B %Y})</option>' in html


def expiry_of(html):
    return re.search(r'<time datetime="[^"]+" title="([^"]+)">([^<]+)</time> \(([^)]+)\)', html)


def test_the_reveal_says_the_expiry_date_and_days_not_months(signed_in, operator):
    html = generate(signed_in(operator), expiry="90").content.decode()
    sentence = html[html.index("It expires on") :].split("</p>", 1)[0]
    exact, shown, distance = expiry_of(sentence).groups()
    day = Token.objects.get().expires_at
    assert shown == f"{day.day} {day:%B %Y}" and distance == "in 90 days"
    assert exact == f"{day:%Y-%m-%d %H:%M:%S} UTC"
    assert "month" not in sentence


def test_the_token_page_shows_the_expiry_date_and_days_with_the_exact_time_on_hover(
    signed_in, operator
):
    expires = timezone.now() + timedelta(days=45, hours=1)
    token = TokenFactory(owner=operator, expires_at=expires)
    html = signed_in(operator).get(f"{LIST}{token.pk}/").content.decode()
    fact = html[html.index("<dt>Expires</dt>") :].split("</dd>", 1)[0]
    exact, shown, distance = expiry_of(fact).groups()
    assert (shown, distance) == (f"{expires.day} {expires:%B %Y}", "in 45 days")
    assert exact == f"{expires:%Y-%m-%d %H:%M:%S} UTC"


def test_an_expired_tokens_page_says_when_it_expired(signed_in, operator):
    token = TokenFactory(owner=operator, expires_at=timezone.now() - timedelta(days=3))
    html = signed_in(operator).get(f"{LIST}{token.pk}/").content.decode()
    fact = html[html.index("<dt>Expired</dt>") :].split("</dd>", 1)[0]
    assert expiry_of(fact).group(3) == "3 days ago"


def test_the_list_shows_the_exact_expiry_on_hover(signed_in, operator):
    expires = timezone.now() + timedelta(days=90)
    TokenFactory(owner=operator, expires_at=expires)
    html = signed_in(operator).get(LIST).content.decode()
    assert (
        f'Expires <time datetime="{expires.isoformat()}" title="{expires:%Y-%m-%d %H:%M:%S} UTC">'
        in html
    )
