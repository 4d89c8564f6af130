"""Token format: recognisable, checksummed, refused cheaply when malformed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro.tenancy import token_format as tf
from maestro.tenancy.token_format import TokenFormatError


def test_new_tokens_are_well_formed_and_distinct() -> None:
    tokens = {tf.new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert re.fullmatch(r"mae_[0-9A-Za-z]{49}", token)
        tf.check_format(token)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t[:-1], "characters"),
        (lambda t: t + "x", "characters"),
        (lambda t: "mxe_" + t[4:], "starts with"),
        (lambda t: t[:10] + "-" + t[11:], "letters and digits"),
        (lambda t: t[:10] + ("A" if t[10] != "A" else "B") + t[11:], "checksum"),
        (lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"), "checksum"),
        (lambda t: "A" * 10_000, "characters"),
    ],
)
def test_malformed_tokens_are_refused_before_any_lookup(mutate: Callable[[str], str], message: str) -> None:
    token = tf.new_token()
    with pytest.raises(TokenFormatError, match=message):
        tf.check_format(mutate(token))


def test_hash_is_sha256_hex_and_comparison_is_exact() -> None:
    token = tf.new_token()
    digest = tf.token_hash(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert tf.hashes_equal(digest, tf.token_hash(token))
    assert not tf.hashes_equal(digest, tf.token_hash(tf.new_token()))


@given(st.text(max_size=80))
def test_random_text_is_almost_never_a_token(text: str) -> None:
    try:
        tf.check_format(text)
    except TokenFormatError:
        return
    assert text.startswith("mae_")
    assert len(text) == tf.LENGTH
