"""Export the sealed event log as JSON lines, for `lienthong log verify` offline.

The file is, one JSON object a line:

- first `{"type": "log", "format": 1, "hub_chain": [PEM, ...], "exported_at": ...}`:
  the hub's certificate chain, leaf first (each head also names its signer in
  its JWS `x5c` header, so heads signed before a key rotation still verify);
- then every sealed entry in order,
  `{"type": "entry", "seq", "at", "kind", "subject", "data", "prev", "hash"}`,
  each signed head `{"type": "head", "seq", "hash", "signed_at", "jws"}`
  right after the entry it covers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.eventlog.chain import EventLogEntry, EventLogHead, format_time
from registry.db import utcnow
from signing.certs import cert_to_pem

EXPORT_FORMAT = 1
PAGE = 5000


async def export_lines(
    sessions: async_sessionmaker[AsyncSession], hub_chain: Sequence[x509.Certificate]
) -> AsyncIterator[dict[str, Any]]:
    """Yield the export's objects in order, reading the log a page at a time."""
    yield {
        "type": "log",
        "format": EXPORT_FORMAT,
        "exported_at": format_time(utcnow()),
        "hub_chain": [cert_to_pem(cert).decode() for cert in hub_chain],
    }
    after = 0
    while True:
        async with sessions() as session:
            entries = (
                await session.scalars(
                    select(EventLogEntry)
                    .where(EventLogEntry.seq > after)
                    .order_by(EventLogEntry.seq)
                    .limit(PAGE)
                )
            ).all()
            if not entries:
                return
            last = entries[-1].seq
            assert last is not None
            heads = {
                head.seq: head
                for head in await session.scalars(
                    select(EventLogHead).where(EventLogHead.seq > after, EventLogHead.seq <= last)
                )
            }
        for entry in entries:
            assert entry.seq is not None
            yield {
                "type": "entry",
                "seq": entry.seq,
                "at": format_time(entry.recorded_at),
                "kind": entry.kind,
                "subject": entry.subject,
                "data": json.loads(entry.data),
                "prev": entry.prev_hash,
                "hash": entry.hash,
            }
            head = heads.get(entry.seq)
            if head is not None:
                yield {
                    "type": "head",
                    "seq": head.seq,
                    "hash": head.hash,
                    "signed_at": format_time(head.signed_at),
                    "jws": head.jws,
                }
        after = last


async def export_log(
    sessions: async_sessionmaker[AsyncSession],
    hub_chain: Sequence[x509.Certificate],
    out: IO[str],
) -> tuple[int, int]:
    """Write the export to `out`; return (entries, heads) written."""
    entries = heads = 0
    async for line in export_lines(sessions, hub_chain):
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        entries += line["type"] == "entry"
        heads += line["type"] == "head"
    return entries, heads
