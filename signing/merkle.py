"""Merkle trees as RFC 9162 (Certificate Transparency 2.0) defines them, over 32-byte leaves.

The event log's signed heads commit to the entries since the previous head with
the root of such a tree, so an inclusion proof is a handful of hashes that
reveals nothing of the other entries. Leaf hash `SHA-256(0x00 || leaf)`, node
hash `SHA-256(0x01 || left || right)`, a tree of n leaves split at the largest
power of two below n (RFC 9162 section 2.1.1); the proof is verified by the
algorithm of section 2.1.3.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["MerkleError", "inclusion_path", "leaf_hash", "root", "root_from_path"]


class MerkleError(ValueError):
    """An index outside the tree, or a path of the wrong length."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of `leaves` (at least one)."""
    if not leaves:
        raise MerkleError("a tree needs at least one leaf")
    level = [leaf_hash(leaf) for leaf in leaves]
    return _subtree(level)


def _subtree(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node(_subtree(hashes[:k]), _subtree(hashes[k:]))


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index`: sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise MerkleError(f"leaf {index} is outside a tree of {len(leaves)}")
    return _path([leaf_hash(leaf) for leaf in leaves], index)


def _path(hashes: Sequence[bytes], index: int) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(hashes[:k], index), _subtree(hashes[k:])]
    return [*_path(hashes[k:], index - k), _subtree(hashes[:k])]


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root that leaf `index` of a tree of `size` leaves and its `path` imply
    (RFC 9162 section 2.1.3.2); the caller compares it with the signed root."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is outside a tree of {size}")
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in path:
        if sn == 0:
            raise MerkleError("the path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("the path is shorter than the tree is deep")
    return r
