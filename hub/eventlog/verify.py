"""Verify an exported event log offline: the hash chain, the signed heads, the hub's certificate.

Needs nothing but the export and the national root: every entry's hash is
recomputed from its fields, every `prev` must be the hash before it, every head's
JWS must verify with the certificate in its `x5c` header, that certificate must
chain to the root and have been valid when the head was signed (and, given the
CA's CRL, not revoked by then: heads signed before a revocation stay good), and
the head must name the very hash recomputed for its entry; a head that carries
`entries_root` (the Merkle root over the entries since the previous head, which
inclusion proofs are checked against) must name the very root recomputed from
those entries. The first problem stops the check and is named by entry sequence
number and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography import x509

from hub.eventlog.chain import GENESIS_HASH, chain_hash
from signing import merkle
from signing.jose import JoseError, chain_from_x5c, unverified_header, verify_compact
from signing.trust import TrustStore


@dataclass
class LogProblem:
    line: int
    seq: int | None
    detail: str

    def __str__(self) -> str:
        if self.seq is None:
            return f"line {self.line}: {self.detail}"
        return f"entry {self.seq} (line {self.line}): {self.detail}"


@dataclass
class LogVerification:
    entries: int = 0
    heads: int = 0
    last_signed_seq: int = 0
    last_seq: int = 0
    problem: LogProblem | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def unsigned_tail(self) -> int:
        """Entries after the last signed head: chained, but not yet vouched for by the hub."""
        return self.last_seq - self.last_signed_seq


class _Bad(Exception):
    def __init__(self, detail: str, seq: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.seq = seq


def verify_export(
    lines: Iterable[str],
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> LogVerification:
    """Check an export line by line; the result names the first problem, if any.

    Raises `ValueError` for a CRL that none of `roots` signed.
    """
    result = LogVerification()
    verifier = _ChainVerifier(TrustStore(roots, crls), result)
    number = 0
    try:
        for number, text in enumerate(lines, start=1):  # noqa: B007
            if text.strip():
                verifier.take(_parse(text))
        if number == 0:
            raise _Bad("the export is empty")
        if result.entries == 0:
            result.warnings.append("the log holds no sealed entry")
        if result.unsigned_tail:
            result.warnings.append(
                f"the last {result.unsigned_tail} entries follow the last signed head"
            )
    except _Bad as bad:
        result.problem = LogProblem(number, bad.seq, bad.detail)
    return result


def _parse(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _Bad(f"not JSON ({exc})") from exc
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise _Bad("not a log object")
    return value


class _ChainVerifier:
    def __init__(self, trust: TrustStore, result: LogVerification) -> None:
        self.trust = trust
        self.result = result
        self.seen_header = False
        self.seq = 0
        self.hash = GENESIS_HASH
        self.segment: list[bytes] = []
        """The hashes of the entries since the last head."""

    def take(self, obj: dict[str, Any]) -> None:
        kind = obj["type"]
        if kind == "log":
            if self.seen_header or obj.get("format") != 1:
                raise _Bad("unexpected or unsupported log header")
            self.seen_header = True
        elif not self.seen_header:
            raise _Bad("the export does not start with its log header")
        elif kind == "entry":
            self._entry(obj)
        elif kind == "head":
            self._head(obj)
        else:
            raise _Bad(f"unknown object type {kind!r}")

    def _entry(self, obj: dict[str, Any]) -> None:
        seq = obj.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise _Bad("an entry without an integer seq", self.seq + 1)
        if seq != self.seq + 1:
            raise _Bad(f"expected entry {self.seq + 1}, found {seq}: entries missing", seq)
        if obj.get("prev") != self.hash:
            raise _Bad("its prev is not the hash of the entry before it", seq)
        try:
            canonical = rfc8785.dumps(
                {key: obj[key] for key in ("seq", "at", "kind", "subject", "data")}
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _Bad(f"the entry cannot be canonicalised: {exc}", seq) from exc
        digest = chain_hash(self.hash, canonical)
        if obj.get("hash") != digest:
            raise _Bad("altered: its content does not match its hash", seq)
        self.seq, self.hash = seq, digest
        self.segment.append(bytes.fromhex(digest))
        self.result.entries += 1
        self.result.last_seq = seq

    def _head(self, obj: dict[str, Any]) -> None:
        seq = obj.get("seq")
        if seq != self.seq:
            raise _Bad(f"a head for entry {seq} placed after entry {self.seq}", self.seq)
        token = obj.get("jws")
        if not isinstance(token, str):
            raise _Bad("a head without its JWS", self.seq)
        try:
            chain = chain_from_x5c(unverified_header(token).get("x5c"))
            claims = verify_compact(token, chain[0])
        except JoseError as exc:
            raise _Bad(f"the signed head does not verify: {exc.detail}", self.seq) from exc
        if claims.get("seq") != self.seq or claims.get("hash") != self.hash:
            raise _Bad("the signed head does not vouch for this entry's hash", self.seq)
        if obj.get("hash") != self.hash:
            raise _Bad("the head's hash differs from the entry's", self.seq)
        if "entries_root" in claims:
            self._check_segment(claims)
        signed_at = _time(claims.get("signed_at"), self.seq)
        self._check_chain(chain, signed_at)
        self.result.heads += 1
        self.result.last_signed_seq = self.seq
        self.segment = []

    def _check_segment(self, claims: dict[str, Any]) -> None:
        first = self.result.last_signed_seq + 1
        if claims.get("first_seq") != first:
            raise _Bad(f"the signed head's segment does not start at entry {first}", self.seq)
        if not self.segment or claims["entries_root"] != merkle.root(self.segment).hex():
            raise _Bad("the signed head's entries_root is not the root of its entries", self.seq)

    def _check_chain(self, chain: list[x509.Certificate], at: datetime) -> None:
        status = self.trust.check(chain[0], chain[1:], at=at)
        signer = chain[0].subject.rfc4514_string()
        if not status.trusted:
            raise _Bad(
                f"the head's signer does not chain to the given CA root ({status.error})", self.seq
            )
        if not status.valid_at:
            raise _Bad(
                f"the head was signed at {at.isoformat()} outside the validity of {signer}",
                self.seq,
            )
        if status.revoked and status.revoked_at is not None:
            raise _Bad(
                f"the head was signed at {at.isoformat()} by {signer}, revoked since "
                f"{status.revoked_at.isoformat()} ({status.revocation_reason})",
                self.seq,
            )


def _time(value: object, seq: int) -> datetime:
    if not isinstance(value, str):
        raise _Bad("the signed head has no signing time", seq)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Bad("the signed head's signing time is unreadable", seq) from exc
    if moment.tzinfo is None:
        raise _Bad("the signed head's signing time has no offset", seq)
    return moment.astimezone(UTC)
