"""Which stored subtrees a tree head, an append and a proof need: pure index arithmetic.

The server keeps the hash of every complete, aligned subtree (``level``, ``idx``
covers leaves ``[idx * 2**level, (idx + 1) * 2**level)``) and, per tenant, the
compact range of the whole tree (the *frontier*: one hash per set bit of the
size, largest subtree first). An append then costs O(log n) hashes and writes,
and every subtree root an RFC 6962 proof names is the fold of at most
O(log n) stored subtrees, so proofs never read the leaves. The results are the
same as ``maestro.audit.merkle``'s functions over the full leaf list; tests
compare the two.
"""

from __future__ import annotations

from collections.abc import Sequence

from maestro.audit.merkle import ProofError, empty_root, node_hash

Node = tuple[int, int]  # (level, idx)
Range = tuple[int, int]  # leaves [start, end)


def frontier_levels(size: int) -> list[int]:
    """The levels of the frontier's subtrees for a tree of ``size``, largest first."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def append(
    size: int, frontier: Sequence[bytes], leaves: Sequence[bytes]
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """The frontier after appending ``leaves`` to a ``size`` tree, and each interior node
    (level >= 1, idx, hash) that the appends completed, to be stored."""
    if len(frontier) != size.bit_count():
        raise ProofError(f"a frontier of {len(frontier)} hashes cannot belong to a tree of size {size}")
    stack = list(zip(frontier_levels(size), frontier, strict=True))
    completed: list[tuple[int, int, bytes]] = []
    for leaf in leaves:
        level, value = 0, leaf
        size += 1
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            value = node_hash(left, value)
            level += 1
            completed.append((level, (size >> level) - 1, value))
        stack.append((level, value))
    return [value for _, value in stack], completed


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of consecutive subtrees given largest first (a frontier or a range's cover)."""
    if not hashes:
        return empty_root()
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def cover(start: int, end: int) -> list[Node]:
    """The aligned complete subtrees that tile leaves ``[start, end)``, left to right."""
    nodes: list[Node] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose roots form PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(old_size: int, size: int) -> list[Range]:
    """The leaf ranges whose roots form PROOF(old_size, D[size]), in proof order."""
    if not 0 <= old_size <= size:
        raise ProofError(f"size {old_size} is outside a tree of size {size}")
    if old_size in (0, size):
        return []
    ranges: list[Range] = []
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    return ranges[::-1]
