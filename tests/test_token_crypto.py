import re

import pytest

from tokens import crypto

FORMAT = re.compile(r"^atp_[0-9A-Za-z]{42}$")


def test_a_generated_token_has_the_documented_format():
    value = crypto.generate()
    assert FORMAT.match(value)
    assert len(value) == crypto.TOKEN_LENGTH == 46


def test_a_generated_token_passes_its_own_checksum():
    assert all(crypto.is_well_formed(crypto.generate()) for _ in range(200))


def test_tokens_carry_at_least_160_random_bits_beyond_the_displayed_hint():
    import math

    secret_chars = crypto.RANDOM_LENGTH - crypto.HINT_LENGTH
    assert secret_chars * math.log2(len(crypto.ALPHABET)) >= 160


def test_generated_tokens_do_not_repeat():
    assert len({crypto.generate() for _ in range(1000)}) == 1000


def flip(value, index):
    replacement = "A" if value[index] != "A" else "B"
    return value[:index] + replacement + value[index + 1 :]


@pytest.mark.parametrize("index", [4, 10, 39, 40, 45])
def test_a_single_mistyped_character_fails_the_checksum(index):
    value = crypto.generate()
    assert not crypto.is_well_formed(flip(value, index))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "atp_",
        "atp_" + "a" * 41,  # one character short
        "atp_" + "a" * 43,
        "xyz_" + "a" * 42,
        "ATP_" + "a" * 42,
        "atp_" + "é" * 42,
        "atp_" + "-" * 42,
        None,
        12345,
        b"atp_" + b"a" * 42,
    ],
)
def test_malformed_values_are_refused_without_raising(value):
    assert crypto.is_well_formed(value) is False


def test_two_transposed_characters_fail_the_checksum():
    value = crypto.generate()
    body = list(value)
    body[10], body[11] = body[11], body[10]
    if body[10] != body[11]:
        assert not crypto.is_well_formed("".join(body))


def test_the_digest_is_the_sha256_of_the_whole_token():
    import hashlib

    value = crypto.generate()
    assert crypto.digest(value) == hashlib.sha256(value.encode()).hexdigest()


def test_the_hint_is_the_prefix_and_four_characters():
    value = crypto.generate()
    assert crypto.hint(value) == value[:8]
