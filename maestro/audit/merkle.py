"""RFC 6962 Merkle trees: leaf and node hashes, roots, inclusion and consistency proofs.

Pure functions over lists of leaf hashes, so the server, ``maestro audit verify`` and
an auditor's own script all compute the same tree. Proof generation follows RFC 6962
section 2.1 (recursive split at the largest power of two below n); verification
follows RFC 9162 section 2.1.3.2 and 2.1.4.2, which check a proof without the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
_LEAF = b"\x00"
_NODE = b"\x01"


class ProofError(ValueError):
    """A proof does not prove what it claims, or its parameters are out of range."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node; the prefix keeps leaves and
    nodes from ever colliding (second-preimage resistance)."""
    return hashlib.sha256(_NODE + left + right).digest()


def empty_root() -> bytes:
    return hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of already-hashed leaves; iterative, O(n) hashes, O(log n) memory."""
    if not leaves:
        return empty_root()
    # A stack of (height, hash) for the complete subtrees seen so far: the compact range.
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        height, value = 0, leaf
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            value = node_hash(left, value)
            height += 1
        stack.append((height, value))
    value = stack.pop()[1]
    while stack:
        value = node_hash(stack.pop()[1], value)
    return value


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]): the audit path proving leaf ``index`` is in the tree of ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"index {index} is outside a tree of size {len(leaves)}")
    return _path(index, leaves)


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, d[:k]), root(d[k:])]
    return [*_path(m - k, d[k:]), root(d[:k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]): proves the tree of the first ``old_size`` leaves is a prefix."""
    if not 0 <= old_size <= len(leaves):
        raise ProofError(f"size {old_size} is outside a tree of size {len(leaves)}")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(old_size, leaves, complete=True)


def _subproof(m: int, d: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if complete else [root(d)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, d[:k], complete=complete), root(d[k:])]
    return [*_subproof(m - k, d[k:], complete=False), root(d[:k])]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` of a ``size`` tree."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hashes(leaf, *proof)
    fn, sn, value = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            value = node_hash(value, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return value


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected: bytes) -> None:
    """Raise ProofError unless ``proof`` shows ``leaf`` at ``index`` under root ``expected``."""
    if root_from_inclusion(index, size, leaf, proof) != expected:
        raise ProofError(f"inclusion proof for index {index} does not lead to the tree-size-{size} root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless ``proof`` shows the ``old_size`` tree is a prefix of the
    ``new_size`` tree (the log only grew)."""
    _check_hashes(old_root, new_root, *proof)
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if old_root != new_root:
            raise ProofError(f"two different roots for tree size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise ProofError("consistency from the empty tree needs an empty proof")
        return
    nodes = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        nodes.insert(0, old_root)
    if not nodes:
        raise ProofError("consistency proof is empty")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for node in nodes[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != old_root:
        raise ProofError(f"consistency proof does not lead to the tree-size-{old_size} root")
    if sr != new_root:
        raise ProofError(f"consistency proof does not lead to the tree-size-{new_size} root")


def _check_hashes(*values: bytes) -> None:
    for value in values:
        if len(value) != HASH_SIZE:
            raise ProofError(f"a hash is {len(value)} bytes, not {HASH_SIZE}")
