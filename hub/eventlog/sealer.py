"""The sealer: chains committed log rows and signs the head now and then.

Ordering. Writers' rows get ids from a sequence, but on PostgreSQL a
transaction holding a lower id may commit after one holding a higher id. The
sealer therefore never uses "ids above the last sealed one" as its cursor: it
takes every committed row that still has no `seq` (`WHERE seq IS NULL ORDER BY
id`), so a late-committing row is simply sealed in the next round. The log's
order is the order of sealing, which is commit order to within one round; a row
can never be skipped, and nothing uncommitted is ever seen.

Exclusivity. Every hub process runs a sealer; they take turns on the one
`event_log_state` row (the chain's tip). On PostgreSQL the round starts with
`SELECT ... FOR UPDATE SKIP LOCKED`: if another process holds the row it is
sealing right now and this round is skipped. On SQLite the round starts with a
write to that row, which takes the database's one write lock. The tip is read
under the lock and written back in the same transaction, and `seq` is unique,
so two sealers can never fork the chain.

Registry changes. The registry keeps its own `registry_changes` table and does
not know the hub. The sealer copies new changes into the log as entries (the
unique `registry_change_id` makes each copy happen once), looking only above a
watermark. The watermark advances to changes older than a grace period, so a
registry transaction that commits out of id order is still taken unless it
stayed open longer than that grace period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.bulk import update_rows
from hub.eventlog.chain import (
    EventLogEntry,
    EventLogHead,
    EventLogState,
    canonical_json,
    chain_hash,
    entry_bytes,
    format_time,
)
from hub.identity import HubIdentity
from hub.settings import HubSettings
from registry.db import utcnow
from registry.models import RegistryChange
from signing import merkle
from signing.jose import sign_compact

_ENTRIES: Table = EventLogEntry.__table__  # type: ignore[assignment]

log = logging.getLogger(__name__)

HEAD_TYP = "lienthong-log-head+jws"
SHUTDOWN_SEAL_SECONDS = 5.0

HeadSigner = Callable[[dict[str, Any]], str]
"""Signs a head's claims (`seq`, `hash`, `signed_at`, ...) as a JWS compact token."""


@dataclass(frozen=True)
class SealerPolicy:
    """How often to seal, how much at once, and when the head must be signed."""

    head_every_entries: int = 1000
    head_every_seconds: float = 10.0
    batch_size: int = 2000
    interval_seconds: float = 0.25
    registry_grace_seconds: float = 30.0


@dataclass(frozen=True)
class SealResult:
    sealed: int
    """How many entries got a sequence number this round."""
    heads: list[int]
    """The sequence numbers of the heads signed this round."""
    skipped: bool = False
    """True when another sealer held the tip, so this one did nothing."""


class Sealer:
    """One process's sealer. `seal_once` is one transaction; `run` loops forever."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sign_head: HeadSigner,
        *,
        issuer: str,
        policy: SealerPolicy | None = None,
    ) -> None:
        self.sessions = sessions
        self.sign_head = sign_head
        self.issuer = issuer
        self.policy = policy or SealerPolicy()
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        """Ask `run` to return after the round in flight."""
        self._stop.set()

    async def run(self) -> None:
        """Seal until stopped; a failing round is logged and retried next round."""
        while not self._stop.is_set():
            try:
                result = await self.seal_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event log sealing round failed")
                result = SealResult(0, [])
            if result.sealed < self.policy.batch_size:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.policy.interval_seconds)

    async def seal_all(self) -> int:
        """Seal until nothing is left (tests, export, shutdown); return how many."""
        total = 0
        while True:
            result = await self.seal_once()
            total += result.sealed
            if result.skipped:
                await asyncio.sleep(self.policy.interval_seconds)
            elif result.sealed == 0:
                return total

    async def seal_once(self, *, force_head: bool = False) -> SealResult:
        """Chain up to one batch of committed rows; sign the head when it is due."""
        async with self.sessions() as session, session.begin():
            state = await _lock_tip(session)
            if state is None:
                return SealResult(0, [], skipped=True)
            now = utcnow()
            await self._take_registry_changes(session, state, now)
            rows = (
                await session.execute(
                    select(
                        EventLogEntry.id,
                        EventLogEntry.recorded_at,
                        EventLogEntry.kind,
                        EventLogEntry.subject,
                        EventLogEntry.data,
                    )
                    .where(EventLogEntry.seq.is_(None))
                    .order_by(EventLogEntry.id)
                    .limit(self.policy.batch_size)
                )
            ).all()
            updates: list[dict[str, Any]] = []
            due: list[int] = []
            seq, prev = state.last_seq, state.last_hash
            last_head = state.last_head_seq
            for row in rows:
                seq += 1
                digest = chain_hash(
                    prev,
                    entry_bytes(seq, format_time(row.recorded_at), row.kind, row.subject, row.data),
                )
                updates.append({"id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
                prev = digest
                if seq - last_head >= self.policy.head_every_entries:
                    due.append(seq)
                    last_head = seq
            if updates:
                await update_rows(session, _ENTRIES, updates, key="id")
            if seq > last_head and (force_head or (not due and self._time_due(state, now))):
                due.append(seq)
            if due:
                await self._sign_heads(session, state, due, updates, now)
            state.last_seq, state.last_hash = seq, prev
            return SealResult(len(updates), due)

    async def _sign_heads(
        self,
        session: AsyncSession,
        state: EventLogState,
        due: list[int],
        updates: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        """Sign a head at each of `due`, each over the entries since the head before it."""
        hashes = await _hashes_since(session, state.last_head_seq, state.last_seq)
        hashes.update((u["seq"], u["hash"]) for u in updates)
        heads: list[dict[str, Any]] = []
        first = state.last_head_seq + 1
        for head_seq in due:
            segment = [bytes.fromhex(hashes[s]) for s in range(first, head_seq + 1)]
            heads.append(self._head(head_seq, hashes[head_seq], first, segment, now))
            first = head_seq + 1
        state.last_head_seq, state.last_head_at = due[-1], now
        await session.execute(insert(EventLogHead), heads)

    def _time_due(self, state: EventLogState, now: datetime) -> bool:
        if state.last_head_at is None:
            return True
        return now - state.last_head_at >= timedelta(seconds=self.policy.head_every_seconds)

    def _head(
        self, seq: int, digest: str, first: int, segment: list[bytes], now: datetime
    ) -> dict[str, Any]:
        """A head's row; its claims commit to the chain (`hash`) and, with `entries_root`,
        to each entry since the previous head (`first_seq`..`seq`), for inclusion proofs."""
        claims = {
            "iss": self.issuer,
            "seq": seq,
            "hash": digest,
            "first_seq": first,
            "entries_root": merkle.root(segment).hex(),
            "signed_at": format_time(now),
            "iat": int(now.timestamp()),
        }
        return {"seq": seq, "hash": digest, "signed_at": now, "jws": self.sign_head(claims)}

    async def _take_registry_changes(
        self, session: AsyncSession, state: EventLogState, now: datetime
    ) -> None:
        already = select(EventLogEntry.id).where(
            EventLogEntry.registry_change_id == RegistryChange.id
        )
        changes = (
            (
                await session.execute(
                    select(RegistryChange)
                    .where(RegistryChange.id > state.registry_change_id, ~already.exists())
                    .order_by(RegistryChange.id)
                    .limit(self.policy.batch_size)
                )
            )
            .scalars()
            .all()
        )
        entries = [
            {
                "recorded_at": change.at,
                "kind": f"registry.{change.action}",
                "subject": change.member_code or "registry",
                "data": canonical_json(
                    {
                        "change_id": change.id,
                        "actor": change.actor,
                        "action": change.action,
                        "member_code": change.member_code,
                        "before": change.before,
                        "after": change.after,
                    }
                ),
                "registry_change_id": change.id,
            }
            for change in changes
        ]
        if entries:
            await session.execute(insert(EventLogEntry), entries)
        cutoff = now - timedelta(seconds=self.policy.registry_grace_seconds)
        settling = select(func.max(RegistryChange.id)).where(
            RegistryChange.id > state.registry_change_id, RegistryChange.at < cutoff
        )
        if len(changes) == self.policy.batch_size:
            settling = settling.where(RegistryChange.id <= changes[-1].id)
        settled = await session.scalar(settling)
        if settled is not None:
            state.registry_change_id = settled


async def _hashes_since(session: AsyncSession, after: int, upto: int) -> dict[int, str]:
    """The hashes of the sealed entries `after` < seq <= `upto`: a head's segment so far."""
    if upto <= after:
        return {}
    rows = await session.execute(
        select(EventLogEntry.seq, EventLogEntry.hash).where(
            EventLogEntry.seq > after, EventLogEntry.seq <= upto
        )
    )
    return {int(seq or 0): str(digest) for seq, digest in rows}


async def _lock_tip(session: AsyncSession) -> EventLogState | None:
    """Take the chain's tip for this transaction, or None if another sealer has it."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(
            update(EventLogState).where(EventLogState.id == 1).values(id=EventLogState.id)
        )
        return await session.get(EventLogState, 1, populate_existing=True)
    return (
        await session.execute(
            select(EventLogState)
            .where(EventLogState.id == 1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


def hub_sealer(
    sessions: async_sessionmaker[AsyncSession], identity: HubIdentity, settings: HubSettings
) -> Sealer:
    """The sealer of a hub process, signing heads with the hub's key and chain."""
    return Sealer(
        sessions,
        lambda claims: sign_compact(claims, identity.key, identity.chain, typ=HEAD_TYP),
        issuer=settings.hub_id,
        policy=SealerPolicy(
            head_every_entries=settings.eventlog_head_every_entries,
            head_every_seconds=settings.eventlog_head_every_seconds,
            batch_size=settings.eventlog_seal_batch_size,
            interval_seconds=settings.eventlog_seal_interval_seconds,
            registry_grace_seconds=settings.eventlog_registry_grace_seconds,
        ),
    )


@asynccontextmanager
async def running(sealer: Sealer | None) -> AsyncIterator[None]:
    """Run `sealer` in the background for the block; seal and sign what is left at exit."""
    if sealer is None:
        yield
        return
    task = asyncio.create_task(sealer.run(), name="eventlog-sealer")
    try:
        yield
    finally:
        # A stop flag first: a cancellation landing inside a database call can be
        # swallowed by the driver, and the loop would then never end.
        sealer.request_stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_SEAL_SECONDS)
        except TimeoutError:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        try:
            async with asyncio.timeout(SHUTDOWN_SEAL_SECONDS):
                await sealer.seal_all()
                await sealer.seal_once(force_head=True)
        except Exception:
            log.warning("could not seal the event log at shutdown", exc_info=True)
