"""Checking the hub's event log from a member: its signed head, and that an entry is in it.

Nothing here trusts the hub's answer beyond the pinned hub certificate: the
head's fields are taken from its verified JWS, the entry's hash is recomputed
from its content, and the Merkle path must lead to the signed `entries_root`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from cryptography import x509

from hub.protocol import LogEntry, LogHead, LogInclusionProof
from member_node.errors import ProofError
from signing import merkle
from signing.jose import JoseError, unverified_header, verify_compact

__all__ = ["entry_hash", "verify_head", "verify_inclusion"]

HEAD_TYP = "lienthong-log-head+jws"


def entry_hash(entry: LogEntry) -> str:
    """`SHA-256(prev || JCS({seq, at, kind, subject, data}))` as hex: the entry's chain hash."""
    content: dict[str, Any] = {
        "seq": entry.seq,
        "at": entry.at,
        "kind": entry.kind,
        "subject": entry.subject,
        "data": entry.data,
    }
    return hashlib.sha256(bytes.fromhex(entry.prev) + rfc8785.dumps(content)).hexdigest()


def verify_head(head: LogHead, hub_certificate: x509.Certificate, hub_id: str) -> LogHead:
    """The head as its JWS says (not as the answer's other fields say); raises `ProofError`
    unless `hub_certificate` signed it for `hub_id`."""
    try:
        claims = verify_compact(head.jws, hub_certificate)
        if unverified_header(head.jws).get("typ") != HEAD_TYP:
            raise ProofError("head_wrong_type", f"the JWS is not a {HEAD_TYP}")
    except JoseError as exc:
        raise ProofError("head_signature_invalid", exc.detail) from exc
    if claims.get("iss") != hub_id:
        raise ProofError("head_wrong_issuer", f"the head was signed for {claims.get('iss')!r}")
    try:
        return LogHead(
            seq=claims["seq"],
            hash=claims["hash"],
            first_seq=claims.get("first_seq"),
            entries_root=claims.get("entries_root"),
            signed_at=claims["signed_at"],
            jws=head.jws,
        )
    except (KeyError, ValueError) as exc:
        raise ProofError(
            "head_malformed", f"the signed head's claims are unreadable: {exc}"
        ) from exc


def verify_inclusion(
    proof: LogInclusionProof, hub_certificate: x509.Certificate, hub_id: str
) -> LogEntry:
    """The proven entry; raises `ProofError` unless the hub's signed head includes it."""
    head = verify_head(proof.head, hub_certificate, hub_id)
    entry = proof.entry
    digest = entry_hash(entry)
    if digest != entry.hash:
        raise ProofError("entry_altered", f"entry {entry.seq}'s content does not match its hash")
    if head.first_seq is None or head.entries_root is None:
        raise ProofError("head_without_root", "the head commits to no entries root")
    if not head.first_seq <= entry.seq <= head.seq:
        raise ProofError("entry_outside_head", f"entry {entry.seq} is not in the head's segment")
    index, size = entry.seq - head.first_seq, head.seq - head.first_seq + 1
    try:
        path = [bytes.fromhex(node) for node in proof.path]
        found = merkle.root_from_path(bytes.fromhex(digest), index, size, path)
    except ValueError as exc:  # MerkleError, or a path that is not hex
        raise ProofError("path_invalid", str(exc)) from exc
    if found.hex() != head.entries_root:
        raise ProofError("path_mismatch", "the path does not lead to the signed entries root")
    if entry.seq == head.seq and digest != head.hash:
        raise ProofError("entry_altered", "the head's own entry differs from the signed hash")
    return entry
