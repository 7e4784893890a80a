"""Properties of token secrets (tokens.crypto) and of Authorization header parsing
(tokens.auth.parse_authorization), checked by Hypothesis on derandomized examples."""

import hashlib
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tokens import crypto
from tokens.auth import MAX_HEADER_LENGTH, parse_authorization
from web.auth import AuthenticationFailed

PROPERTY = settings(max_examples=500, derandomize=True, deadline=None, database=None)
SHAPE = re.compile(r"atp_[0-9A-Za-z]{42}")

bodies = st.text(alphabet=crypto.ALPHABET, min_size=crypto.RANDOM_LENGTH, max_size=36)
anything = st.one_of(
    st.text(),
    st.binary(),
    st.none(),
    st.integers(),
    st.floats(),
    st.lists(st.text(max_size=5), max_size=3),
    st.text(alphabet=crypto.ALPHABET + "_é\x00 ", max_size=60).map(lambda s: "atp_" + s),
)


def construct(body):
    """A token built from its documented format rather than by crypto.generate()."""
    return crypto.PREFIX + body + crypto.checksum(body)


@PROPERTY
@given(anything)
@example(None)
@example(b"atp_" + b"a" * 42)
@example("atp_" + "\udcff" * 42)
def test_is_well_formed_never_raises_and_answers_a_bool(value):
    assert crypto.is_well_formed(value) in (True, False)


@PROPERTY
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=crypto.ALPHABET, min_size=42, max_size=42),
        bodies.map(lambda body: construct(body)[4:]),
    )
)
def test_is_well_formed_accepts_exactly_the_documented_format(text):
    value = text if text.startswith("atp_") else "atp_" + text
    documented = bool(SHAPE.fullmatch(value)) and crypto.checksum(value[4:40]) == value[40:]
    assert crypto.is_well_formed(value) is documented


@PROPERTY
@given(bodies)
def test_every_construction_of_the_format_is_well_formed(body):
    assert crypto.is_well_formed(construct(body))


def test_every_generated_token_is_well_formed_and_of_the_format():
    for _ in range(500):
        value = crypto.generate()
        assert SHAPE.fullmatch(value) and crypto.is_well_formed(value)
        assert value == construct(value[4:40])


@PROPERTY
@given(bodies, st.integers(0, crypto.TOKEN_LENGTH - 1), st.characters())
def test_any_single_character_change_is_refused(body, index, replacement):
    value = construct(body)
    changed = value[:index] + replacement + value[index + 1 :]
    if changed != value:
        assert not crypto.is_well_formed(changed)


@PROPERTY
@given(bodies, st.integers(0, crypto.TOKEN_LENGTH - 1))
def test_dropping_or_doubling_a_character_is_refused(body, index):
    value = construct(body)
    assert not crypto.is_well_formed(value[:index] + value[index + 1 :])
    assert not crypto.is_well_formed(value[:index] + value[index] + value[index:])


@PROPERTY
@given(bodies, st.integers(0, crypto.RANDOM_LENGTH - 2))
def test_swapping_two_neighbours_in_the_random_part_is_refused(body, index):
    swapped = body[:index] + body[index + 1] + body[index] + body[index + 2 :]
    if swapped != body:
        assert not crypto.is_well_formed(construct(body)[:4] + swapped + crypto.checksum(body))


@PROPERTY
@given(bodies, bodies)
def test_the_digest_is_a_stable_sha256_that_tells_tokens_apart(first, second):
    a, b = construct(first), construct(second)
    assert crypto.digest(a) == hashlib.sha256(a.encode()).hexdigest() == crypto.digest(a)
    assert re.fullmatch(r"[0-9a-f]{64}", crypto.digest(a))
    assert (crypto.digest(a) == crypto.digest(b)) is (a == b)


@PROPERTY
@given(bodies)
def test_the_hint_is_the_prefix_and_four_random_characters_and_nothing_of_the_rest(body):
    value = construct(body)
    hint = crypto.hint(value)
    assert hint == value[:8] and value.startswith(hint)
    assert len(hint) - len(crypto.PREFIX) == crypto.HINT_LENGTH
    assert crypto.checksum(body) not in hint


# --- parse_authorization ------------------------------------------------------------------

schemes = st.sampled_from(["token", "bearer"]).flatmap(
    lambda word: st.tuples(*(st.sampled_from([c, c.upper()]) for c in word)).map("".join)
)
blanks = st.text(alphabet=" \t", min_size=1, max_size=4)
headers = st.one_of(
    st.text(),
    st.text(min_size=MAX_HEADER_LENGTH - 10, max_size=MAX_HEADER_LENGTH + 10),
    st.builds(lambda s, b, t: f"{s}{b}{t}", schemes, blanks, st.text(max_size=60)),
    st.builds(lambda s, b, body: f"{s}{b}{construct(body)}", st.text(max_size=8), blanks, bodies),
)


@PROPERTY
@given(headers)
@example("")
@example("Token " + "a" * 10_000)
@example("Token atp_\x00")
def test_parse_authorization_raises_nothing_but_authentication_failed(header):
    try:
        value = parse_authorization(header)
    except AuthenticationFailed as failure:
        assert failure.status == 401 and failure.detail
    else:
        assert crypto.is_well_formed(value)
        assert header.split() == [header.split()[0], value]


@PROPERTY
@given(schemes, blanks, bodies, st.text(alphabet=" \t", max_size=3), st.text(" \t", max_size=3))
def test_parse_authorization_returns_exactly_the_value_of_a_well_formed_header(
    scheme, gap, body, before, after
):
    value = construct(body)
    assert parse_authorization(f"{before}{scheme}{gap}{value}{after}") == value


@pytest.mark.parametrize("header", [None, b"Token atp_x"])
def test_parse_authorization_refuses_values_that_are_not_text(header):
    with pytest.raises(AuthenticationFailed):
        parse_authorization(header)
