"""Signed notes and checkpoints: the Go sumdb/note known-answer vector (Ed25519 is
deterministic, so signing must reproduce it byte for byte), then the forgeries an
auditor must catch."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from maestro.audit import checkpoint as cp
from maestro.audit.checkpoint import Checkpoint, CheckpointError

# golang.org/x/mod/sumdb/note's documented example: a published key pair and note.
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n\u2014 PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_known_answer_signs_and_opens() -> None:
    key = Ed25519PrivateKey.from_private_bytes(GO_SEED)
    assert cp.verifier_key("PeterNeumann", key.public_key()) == GO_VERIFIER
    assert cp.sign_note(GO_TEXT, "PeterNeumann", key) == GO_NOTE
    name, public = cp.parse_verifier_key(GO_VERIFIER)
    assert cp.open_note(GO_NOTE, name, public) == GO_TEXT
    with pytest.raises(CheckpointError, match="does not match"):
        cp.open_note(GO_NOTE.replace("cryptography", "cryptographY"), name, public)


def test_verifier_key_with_a_wrong_id_is_refused() -> None:
    with pytest.raises(CheckpointError, match="id does not match"):
        cp.parse_verifier_key(GO_VERIFIER.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(CheckpointError):
        cp.parse_verifier_key("PeterNeumann+c74f20a3+!!!")


KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
NAME = "maestro.example/default"
CHECKPOINT = Checkpoint("maestro.example/tenant/default", 42, bytes(range(32)))


def test_checkpoint_round_trip_and_layout() -> None:
    note = cp.sign(CHECKPOINT, NAME, KEY)
    origin, size, root, blank, signature, end = note.split("\n")
    assert (origin, size, root, blank, end) == (
        "maestro.example/tenant/default",
        "42",
        base64.b64encode(bytes(range(32))).decode(),
        "",
        "",
    )
    assert signature.startswith(f"\u2014 {NAME} ")
    assert cp.verify(note, NAME, KEY.public_key()) == CHECKPOINT


def test_cosignatures_by_unknown_keys_are_skipped() -> None:
    witness = Ed25519PrivateKey.from_private_bytes(bytes(32))
    note = cp.sign(CHECKPOINT, NAME, KEY)
    cosigned = note + cp.sign(CHECKPOINT, "witness.example", witness).split("\n\n", 1)[1]
    assert cp.verify(cosigned, NAME, KEY.public_key()) == CHECKPOINT
    assert cp.verify(cosigned, "witness.example", witness.public_key()) == CHECKPOINT


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("\n42\n", "\n43\n", "does not match"),
        ("maestro.example/tenant/default", "maestro.example/tenant/other", "does not match"),
        (f"\u2014 {NAME} ", "\u2014 someone-else ", "no signature"),
        (f"\u2014 {NAME} ", f"- {NAME} ", "em dash"),
    ],
)
def test_tampered_checkpoints_are_refused(old: str, new: str, message: str) -> None:
    note = cp.sign(CHECKPOINT, NAME, KEY).replace(old, new, 1)
    with pytest.raises(CheckpointError, match=message):
        cp.verify(note, NAME, KEY.public_key())


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    with pytest.raises(CheckpointError, match="no signature"):
        cp.verify(cp.sign(CHECKPOINT, NAME, other), NAME, KEY.public_key())


@pytest.mark.parametrize(
    "body",
    [
        "origin\n42\n",
        "origin\n042\nAAAA\n",
        "origin\n-1\n" + "A" * 44 + "\n",
        "origin\n1\nAAAA\n",
        " origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n\u0661\n" + "A" * 44 + "\n",
    ],
)
def test_malformed_bodies_are_refused(body: str) -> None:
    with pytest.raises(CheckpointError):
        cp.parse_checkpoint(body)


@given(st.text(max_size=300))
def test_open_note_never_crashes_on_garbage(note: str) -> None:
    try:
        cp.open_note(note, NAME, KEY.public_key())
    except CheckpointError:
        pass
    else:  # pragma: no cover - only a real signature gets here
        raise AssertionError("garbage opened as a signed note")
