"""The event log: record, seal, sign heads, export, verify offline; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pymerkle import InmemoryTree
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.eventlog import chain as eventlog
from hub.eventlog.chain import EventLogEntry, EventLogHead, EventLogState
from hub.eventlog.export import export_log
from hub.eventlog.sealer import Sealer, SealerPolicy
from hub.eventlog.verify import LogVerification, verify_export
from registry.db import create_engine, session_factory, utcnow
from registry.models import RegistryChange
from signing.jose import sign_compact, unverified_claims
from signing.keys import PrivateKey
from signing.pki import CertificateAuthority


@dataclass
class HubPki:
    root: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate]

    def signer(self) -> Any:
        return lambda claims: sign_compact(claims, self.key, self.chain)


@pytest.fixture(scope="module")
def log_pki(tmp_path_factory: pytest.TempPathFactory) -> HubPki:
    ca = CertificateAuthority.init(tmp_path_factory.mktemp("ca"))
    issued = ca.issue("hub", "000.00.00.A00", "Test hub")
    return HubPki(ca.certificate, issued.key, [issued.cert, *issued.chain])


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


def sealer_for(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki, **policy: Any
) -> Sealer:
    return Sealer(sessions, log_pki.signer(), issuer="test-hub", policy=SealerPolicy(**policy))


async def record_events(
    sessions: async_sessionmaker[AsyncSession], count: int, subject: str = "doc-1"
) -> None:
    async with sessions() as session, session.begin():
        for number in range(count):
            await eventlog.record(
                session, "document.accepted", subject, {"n": number, "at": utcnow(), "ok": True}
            )


async def exported(sessions: async_sessionmaker[AsyncSession], log_pki: HubPki) -> list[str]:
    out = io.StringIO()
    await export_log(sessions, log_pki.chain, out)
    return out.getvalue().splitlines()


def verify(lines: list[str], log_pki: HubPki) -> LogVerification:
    return verify_export(lines, [log_pki.root])


async def test_sealing_chains_entries_in_order_and_signs_the_head(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    await record_events(sessions, 3)
    await record_events(sessions, 2, subject="doc-2")
    assert await sealer_for(sessions, log_pki).seal_all() == 5

    async with sessions() as session:
        entries = (await session.scalars(select(EventLogEntry).order_by(EventLogEntry.id))).all()
        heads = (await session.scalars(select(EventLogHead))).all()
    assert [entry.seq for entry in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == eventlog.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert [(head.seq, head.hash) for head in heads] == [(5, entries[-1].hash)]

    result = verify(await exported(sessions, log_pki), log_pki)
    assert result.ok, result.problem
    assert (result.entries, result.heads, result.unsigned_tail) == (5, 1, 0)


async def test_a_head_is_signed_every_n_entries(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    await record_events(sessions, 7)
    result = await sealer_for(sessions, log_pki, head_every_entries=3).seal_once()
    assert (result.sealed, result.heads) == (7, [3, 6])

    verification = verify(await exported(sessions, log_pki), log_pki)
    assert verification.ok, verification.problem
    assert (verification.heads, verification.unsigned_tail) == (2, 1)
    assert "follow the last signed head" in verification.warnings[-1]


async def test_a_head_is_signed_after_the_time_limit(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    sealer = sealer_for(sessions, log_pki, head_every_entries=1000, head_every_seconds=60)
    await record_events(sessions, 1)
    assert (await sealer.seal_once()).heads == [1]
    await record_events(sessions, 1)
    assert (await sealer.seal_once()).heads == []
    async with sessions.begin() as session:  # a minute passes
        await session.execute(
            update(EventLogState).values(last_head_at=utcnow() - timedelta(seconds=61))
        )
    assert (await sealer.seal_once()).heads == [2]
    assert (await sealer.seal_once()).heads == []  # nothing new: no new head


async def test_one_altered_byte_is_detected_and_the_entry_named(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    await record_events(sessions, 4)
    await sealer_for(sessions, log_pki).seal_all()
    lines = await exported(sessions, log_pki)
    line_of_entry_3 = next(i for i, text in enumerate(lines) if '"seq":3,' in text)
    original = lines[line_of_entry_3]
    position = original.index('"subject":"doc-1"') + len('"subject":"doc-')
    lines[line_of_entry_3] = original[:position] + "7" + original[position + 1 :]

    result = verify(lines, log_pki)
    assert not result.ok
    assert result.problem is not None and result.problem.seq == 3
    assert str(result.problem).startswith(f"entry 3 (line {line_of_entry_3 + 1})")
    assert "altered" in str(result.problem)


async def test_a_rewritten_hash_breaks_the_next_link(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    await record_events(sessions, 3)
    await sealer_for(sessions, log_pki).seal_all()
    lines = await exported(sessions, log_pki)
    index = next(i for i, text in enumerate(lines) if '"seq":2,' in text)
    entry = json.loads(lines[index])
    entry["data"]["n"] = 99
    canonical = eventlog.entry_bytes(
        2, entry["at"], entry["kind"], entry["subject"], eventlog.canonical_json(entry["data"])
    )
    entry["hash"] = eventlog.chain_hash(entry["prev"], canonical)
    lines[index] = json.dumps(entry)

    result = verify(lines, log_pki)
    assert result.problem is not None and result.problem.seq == 3
    assert "prev" in result.problem.detail


async def test_heads_must_verify_against_the_given_root(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki, tmp_path: Path
) -> None:
    await record_events(sessions, 2)
    await sealer_for(sessions, log_pki).seal_all()
    lines = await exported(sessions, log_pki)

    stranger = CertificateAuthority.init(tmp_path / "other-ca").certificate
    result = verify_export(lines, [stranger])
    assert result.problem is not None and result.problem.seq == 2
    assert "does not chain to the given CA root" in result.problem.detail

    head_index = next(i for i, text in enumerate(lines) if '"type":"head"' in text)
    head = json.loads(lines[head_index])
    header, payload, signature = head["jws"].split(".")
    head["jws"] = ".".join(
        [header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")]
    )
    lines[head_index] = json.dumps(head)
    result = verify(lines, log_pki)
    assert result.problem is not None and "does not verify" in result.problem.detail


async def test_each_head_commits_to_its_segment_and_a_wrong_root_is_named(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    await record_events(sessions, 7)
    sealer = sealer_for(sessions, log_pki, head_every_entries=3)
    await sealer.seal_all()
    await sealer.seal_once(force_head=True)
    async with sessions() as session:
        hashes = list(await session.scalars(select(EventLogEntry.hash).order_by(EventLogEntry.seq)))
        heads = (await session.scalars(select(EventLogHead).order_by(EventLogHead.seq))).all()
    claims = [unverified_claims(head.jws) for head in heads]
    assert [(c["first_seq"], c["seq"]) for c in claims] == [(1, 3), (4, 6), (7, 7)]
    for c in claims:
        tree = InmemoryTree(algorithm="sha256")
        for digest in hashes[c["first_seq"] - 1 : c["seq"]]:
            tree.append_entry(bytes.fromhex(str(digest)))
        assert tree.get_root(c["seq"] - c["first_seq"] + 1).hex() == c["entries_root"]

    def wrong_root(claims: dict[str, Any]) -> str:
        return log_pki.signer()({**claims, "entries_root": "00" * 32})

    await record_events(sessions, 2)
    await Sealer(sessions, wrong_root, issuer="test-hub").seal_once(force_head=True)
    result = verify(await exported(sessions, log_pki), log_pki)
    assert result.problem is not None and result.problem.seq == 9
    assert "entries_root" in result.problem.detail


async def test_garbage_and_missing_entries_are_named(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    await record_events(sessions, 3)
    await sealer_for(sessions, log_pki).seal_all()
    lines = await exported(sessions, log_pki)

    without_2 = [text for text in lines if '"seq":2,' not in text or '"type":"head"' in text]
    result = verify(without_2, log_pki)
    assert result.problem is not None and result.problem.seq == 3
    assert "missing" in result.problem.detail

    broken = [*lines[:2], "{not json", *lines[2:]]
    result = verify(broken, log_pki)
    assert result.problem is not None and result.problem.line == 3

    assert not verify([], log_pki).ok


async def test_registry_changes_enter_the_log_once(
    sessions: async_sessionmaker[AsyncSession], log_pki: HubPki
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            RegistryChange(
                actor="admin", action="member.registered", member_code="000.00.00.H26",
                before=None, after={"name": "Province"},
            )
        )  # fmt: skip
    await record_events(sessions, 1)
    sealer = sealer_for(sessions, log_pki, registry_grace_seconds=0)
    assert await sealer.seal_all() == 2
    assert await sealer.seal_all() == 0

    lines = await exported(sessions, log_pki)
    entries = [json.loads(text) for text in lines if '"type":"entry"' in text]
    registry = [entry for entry in entries if entry["kind"] == "registry.member.registered"]
    assert len(registry) == 1
    assert registry[0]["subject"] == "000.00.00.H26"
    assert registry[0]["data"]["after"] == {"name": "Province"}
    assert verify(lines, log_pki).ok


async def test_concurrent_writers_and_two_sealers_never_fork_the_chain(
    database_url: str, log_pki: HubPki
) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        factories = [session_factory(engine) for engine in engines]
        sealers = [
            sealer_for(factory, log_pki, head_every_entries=7, batch_size=5, interval_seconds=0.001)
            for factory in factories
        ]
        running = [asyncio.create_task(sealer.run()) for sealer in sealers]

        async def writer(number: int) -> None:
            for batch in range(10):
                await record_events(factories[number % 2], 3, subject=f"doc-{number}-{batch}")

        await asyncio.gather(*(writer(number) for number in range(6)))
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await sealers[0].seal_all()

        lines = await exported(factories[0], log_pki)
        result = verify(lines, log_pki)
        assert result.ok, result.problem
        assert result.entries == 6 * 10 * 3
        assert result.heads >= 6 * 10 * 3 // 7
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_transaction_committing_late_is_sealed_later_not_lost(
    database_url: str, database_kind: str, log_pki: HubPki
) -> None:
    if database_kind != "postgresql":
        pytest.skip("SQLite has one writer: commits cannot overtake each other")
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        sealer = sealer_for(sessions, log_pki)
        async with sessions() as slow:
            await slow.begin()
            await eventlog.record(slow, "document.accepted", "slow", {})
            await slow.flush()  # takes the lower id, not yet committed
            await record_events(sessions, 1, subject="fast")
            assert await sealer.seal_all() == 1
            await slow.commit()
        assert await sealer.seal_all() == 1

        lines = await exported(sessions, log_pki)
        subjects = [json.loads(t)["subject"] for t in lines if '"type":"entry"' in t]
        assert subjects == ["fast", "slow"]
        assert verify(lines, log_pki).ok
    finally:
        await engine.dispose()
