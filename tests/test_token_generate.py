import re
import uuid

import pytest
from django.db import connection
from django.test import Client

from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token

URL = "/settings/security-extensions/api-tokens/new/"


def generate(client, name="CI pipeline", form_id=None):
    return client.post(URL, {"name": name, "form_id": form_id or uuid.uuid4().hex})


def test_generating_reveals_a_working_value_once_with_no_store(signed_in, operator):
    response = generate(signed_in(operator))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    value = revealed_value(response)
    token = Token.objects.get(digest=crypto.digest(value))
    assert token.owner == operator and token.tenant == operator.tenant
    assert token.name == "CI pipeline" and token.last_used_at is None


def test_the_reveal_has_the_contract_parts(signed_in, operator):
    html = generate(signed_in(operator)).content.decode()
    assert '<label for="token-value">Token</label>' in html
    assert "readonly" in html.split('id="token-value"')[1].split(">")[0]
    assert ">Copy</button>" in html
    assert "will not be shown again" in html
    # shown as text: <wbr> only lets a phone wrap it between names
    assert "http://contoso.us.portal.localhost/" in html.replace("<wbr>", "")
    assert "read and write" in html


def test_a_readers_reveal_says_the_token_is_read_only(signed_in, reader):
    assert "read only" in generate(signed_in(reader)).content.decode()


def test_only_the_digest_and_hint_are_stored(signed_in, operator):
    value = revealed_value(generate(signed_in(operator)))
    token = Token.objects.get()
    assert token.digest == crypto.digest(value) and token.hint == value[:8]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tokens_token")
        rows = cursor.fetchall()
    assert value not in repr(rows)
    assert value[8:] not in repr(rows)


def test_the_value_is_not_in_the_session_or_messages(signed_in, operator):
    client = signed_in(operator)
    value = revealed_value(generate(client))
    assert value not in repr(dict(client.session.items()))
    assert value not in client.get("/settings/security-extensions/api-tokens/").content.decode()


def test_the_list_after_the_reveal_does_not_show_the_value_again(signed_in, operator):
    client = signed_in(operator)
    value = revealed_value(generate(client))
    for path in ("/settings/security-extensions/api-tokens/", URL):
        assert value not in client.get(path).content.decode()


def test_resubmitting_the_same_form_does_not_issue_a_second_token(signed_in, operator):
    client = signed_in(operator)
    form_id = uuid.uuid4().hex
    generate(client, form_id=form_id)
    again = generate(client, form_id=form_id)
    assert again.status_code == 302
    assert Token.objects.count() == 1
    followed = client.get(again["Location"]).content.decode()
    assert "cannot be shown again" in followed


def test_the_generate_page_works_without_javascript(signed_in, operator):
    html = signed_in(operator).get(URL).content.decode()
    assert 'id="generate-dialog" class="dialog" aria-labelledby="generate-title" open' in html
    assert '<label for="id_name">Token name</label>' in html
    assert ">Next</button>" in html


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a name for the token"),
        ("   ", "Enter a name for the token"),
        ("x" * 101, "Use at most 100 characters"),
        ("tab\tinside", "control or invisible characters"),
        ("bell\x07", "control or invisible characters"),
        ("zero\u200bwidth", "control or invisible characters"),
        ("nul\x00", "Null characters are not allowed"),
    ],
)
def test_a_bad_name_shows_an_inline_error_and_issues_nothing(signed_in, operator, name, message):
    response = generate(signed_in(operator), name=name)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'class="field-error"' in html
    assert "open data-show-modal" in html.split('id="generate-dialog"')[1].split(">")[0]
    assert not Token.objects.exists()


@pytest.mark.parametrize("name", ["x" * 100, "  padded  ", "Ünïcödé ✓ 名前", "<b>html</b>"])
def test_good_names_are_trimmed_and_kept(signed_in, operator, name):
    response = generate(signed_in(operator), name=name)
    assert response.status_code == 200
    assert Token.objects.get().name == name.strip()
    assert "<b>html</b>" not in response.content.decode()


def test_generating_needs_a_csrf_token(operator):
    client = Client(HTTP_HOST=operator.tenant.host, enforce_csrf_checks=True)
    client.force_login(operator)
    assert generate(client).status_code == 403
    assert not Token.objects.exists()


def test_every_role_may_generate(signed_in, full_admin, operator, reader):
    for user in (full_admin, operator, reader):
        assert generate(signed_in(user)).status_code == 200
    assert Token.objects.count() == 3


LIST = "/settings/security-extensions/api-tokens/"


def test_generating_reveals_over_the_same_place_on_the_list(signed_in, operator):
    from tests.factories import TokenFactory

    TokenFactory(owner=operator, name="old")
    client = signed_in(operator)
    opened = client.get(URL, {"back": "status=generated&q=ci"})
    assert opened.context["page"].object_list == []  # no token "ci" yet
    html = opened.content.decode()
    assert '<input type="hidden" name="back" value="status=generated&amp;q=ci">' in html
    assert (
        f'<a href="{LIST}?status=generated&amp;q=ci" class="button" data-close-dialog>Cancel</a>'
        in html
    )
    response = client.post(
        URL, {"name": "ci", "form_id": uuid.uuid4().hex, "back": "status=generated&q=ci"}
    )
    assert [t.name for t in response.context["page"].object_list] == ["ci"]
    assert f'data-list-url="{LIST}?status=generated&amp;q=ci"' in response.content.decode()


def test_the_lists_generate_button_carries_the_place_on_the_list(signed_in, operator):
    html = signed_in(operator).get(LIST, {"status": "active", "sort": "name"}).content.decode()
    form = html[html.index(f'action="{URL}" data-opens-dialog') :].split("</form>", 1)[0]
    assert '<input type="hidden" name="back" value="status=active&amp;sort=name">' in form


def test_the_list_answered_at_new_links_to_the_list_not_to_new(signed_in, operator):
    """Without JavaScript the reveal is the list rendered at /new/: its filters, sort links and
    pages must lead to the list, not to /new/?status=… (a GET of the generate page)."""
    html = generate(signed_in(operator)).content.decode()
    hrefs = re.findall(r'href="([^"]*\?[^"]*)"', html)
    assert hrefs and all(h.startswith("/settings/security-extensions/api-tokens/?") for h in hrefs)


def test_the_reveals_url_and_example_wrap_between_names_never_inside_the_port(
    signed_in, operator, settings
):
    settings.PORTAL_PORT = "8765"
    html = generate(signed_in(operator)).content.decode()
    example = html.split("For example:")[1].split("</code>")[0]
    assert "localhost:8765/<wbr>api/<wbr>v1/<wbr>me/" in example
    assert "http://<wbr>contoso.<wbr>us.<wbr>portal.<wbr>localhost:8765/" in example


def test_the_dialogs_next_button_says_it_generates(signed_in, operator):
    html = signed_in(operator).get("/settings/security-extensions/api-tokens/").content.decode()
    assert 'aria-describedby="generate-next-help">Next</button>' in html
    assert "Next generates the token and shows its value, once." in html
