"""RFC 6962 trees against the published reference tree (the eight leaf inputs and
the node and root hashes of RFC 6962's reference implementation, as used by
certificate-transparency and transparency-dev/merkle), then every proof of every
small tree, and the mutations a forger would try."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro.audit import merkle
from maestro.audit.merkle import ProofError

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
NODES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [merkle.leaf_hash(data) for data in LEAF_INPUTS]


def node(level: int, index: int) -> bytes:
    return bytes.fromhex(NODES[level][index])


def test_hash_primitives_match_rfc6962() -> None:
    assert merkle.empty_root().hex() == ROOTS[0]
    assert merkle.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle.leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert merkle.node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_leaf_and_node_hashes_of_the_reference_tree() -> None:
    assert [leaf.hex() for leaf in LEAVES] == NODES[0]
    for level in range(1, 4):
        for index, expected in enumerate(NODES[level]):
            assert (
                merkle.node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1)).hex() == expected
            )


@pytest.mark.parametrize("size", range(9))
def test_roots_of_every_prefix(size: int) -> None:
    assert merkle.root(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(
    ("index", "size", "expected"),
    [
        (0, 1, []),
        (0, 8, [node(0, 1), node(1, 1), node(2, 1)]),
        (5, 8, [node(0, 4), node(1, 3), node(2, 0)]),
        (2, 3, [node(1, 0)]),
        (1, 5, [node(0, 0), node(1, 1), node(0, 4)]),
        (6, 7, [node(1, 2), node(2, 0)]),
    ],
)
def test_inclusion_proofs_of_the_reference_tree(index: int, size: int, expected: list[bytes]) -> None:
    proof = merkle.inclusion_proof(LEAVES[:size], index)
    assert proof == expected
    merkle.verify_inclusion(index, size, LEAVES[index], proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (1, 1, []),
        (1, 8, [node(0, 1), node(1, 1), node(2, 1)]),
        (6, 8, [node(1, 2), node(1, 3), node(2, 0)]),
        (2, 5, [node(1, 1), node(0, 4)]),
        (4, 8, [node(2, 1)]),
        (3, 7, [node(0, 2), node(0, 3), node(1, 0), merkle.root(LEAVES[4:7])]),
    ],
)
def test_consistency_proofs_of_the_reference_tree(old: int, new: int, expected: list[bytes]) -> None:
    proof = merkle.consistency_proof(LEAVES[:new], old)
    assert proof == expected
    merkle.verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def test_every_inclusion_proof_of_small_trees_verifies_and_every_mutation_fails() -> None:
    leaves = _leaves(33)
    for size in range(1, 34):
        tree_root = merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(leaves[:size], index)
            merkle.verify_inclusion(index, size, leaves[index], proof, tree_root)
            forgeries = [
                (index ^ 2, size, leaves[index], proof),
                (index + 1, size, leaves[index], proof),
                (index - 1, size, leaves[index], proof),
                (index, size * 2, leaves[index], proof),
                (index, size // 2, leaves[index], proof),
                (index, size, _flip(leaves[index], 3), proof),
                (index, size, leaves[index], [*proof, tree_root]),
                (index, size, leaves[index], [tree_root, *proof]),
                (index, size, leaves[index], proof[:-1]),
                *[
                    (index, size, leaves[index], [*proof[:i], _flip(p, 7), *proof[i + 1 :]])
                    for i, p in enumerate(proof)
                ],
            ]
            for f_index, f_size, f_leaf, f_proof in forgeries:
                if (f_index, f_size, f_leaf, f_proof) == (index, size, leaves[index], proof):
                    continue
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(f_index, f_size, f_leaf, f_proof, tree_root)


def test_every_consistency_proof_of_small_trees_verifies_and_every_mutation_fails() -> None:
    leaves = _leaves(20)
    roots = [merkle.root(leaves[:n]) for n in range(21)]
    for new in range(1, 21):
        for old in range(1, new + 1):
            proof = merkle.consistency_proof(leaves[:new], old)
            merkle.verify_consistency(old, new, roots[old], roots[new], proof)
            forgeries = [
                (old, new, roots[new], roots[old], proof),
                (old, new, _flip(roots[old], 1), roots[new], proof),
                (old, new, roots[old], _flip(roots[new], 1), proof),
                (old, new, roots[old], roots[new], [*proof, roots[old]]),
                (old, new, roots[old], roots[new], [roots[old], *proof]),
                (old, new, roots[old], roots[new], proof[:-1]),
                (old + 1, new, roots[old], roots[new], proof),
                (old, new * 2, roots[old], roots[new], proof),
                *[
                    (old, new, roots[old], roots[new], [*proof[:i], _flip(p, 9), *proof[i + 1 :]])
                    for i, p in enumerate(proof)
                ],
            ]
            for candidate in forgeries:
                if candidate == (old, new, roots[old], roots[new], proof) or (
                    candidate[0] == candidate[1] and candidate[2] == candidate[3] and not candidate[4]
                ):
                    continue
                with pytest.raises(ProofError):
                    merkle.verify_consistency(*candidate)


def test_out_of_range_parameters_are_errors_not_crashes() -> None:
    leaves = _leaves(4)
    root = merkle.root(leaves)
    with pytest.raises(ProofError):
        merkle.inclusion_proof(leaves, 4)
    with pytest.raises(ProofError):
        merkle.inclusion_proof([], 0)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(0, 0, leaves[0], [], root)
    with pytest.raises(ProofError):
        merkle.consistency_proof(leaves, 5)
    with pytest.raises(ProofError):
        merkle.verify_consistency(5, 4, root, root, [])
    with pytest.raises(ProofError):
        merkle.verify_inclusion(0, 4, b"short", [], root)
    merkle.verify_consistency(0, 4, merkle.empty_root(), root, [])
    with pytest.raises(ProofError):
        merkle.verify_consistency(0, 4, merkle.empty_root(), root, [root])


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70), st.data())
def test_proofs_hold_for_any_tree(entries: list[bytes], data: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(entry) for entry in entries]
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    tree_root = merkle.root(leaves)
    merkle.verify_inclusion(index, size, leaves[index], merkle.inclusion_proof(leaves, index), tree_root)
    merkle.verify_consistency(
        old, size, merkle.root(leaves[:old]), tree_root, merkle.consistency_proof(leaves, old)
    )
