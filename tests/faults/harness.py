"""What every fault scenario shares: a network of real processes under load, and the checks.

The load is raw HTTP (not the SDK, which would retry 503s out of sight): each
answer is tallied by status and problem code. The checks are the hub's
promises: no 5xx but `503` problem+json with `Retry-After`, every `202` (or
`200` repeat) delivered to each recipient exactly once after deduplication by
id, nothing delivered that was never submitted, and an event log that verifies.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from member_node.clerk import ClerkRules
from member_node.simulation.launcher import Network, hub_environment, launch
from member_node.simulation.provision import NodeSpec
from registry.problems import PROBLEM_MEDIA_TYPE
from signing.package import package_json
from tests.integration.helpers import HEADER, eventually, inbox_ids

ROOT = Path(__file__).resolve().parents[2]
SENDERS = ["000.00.00.H62", "000.00.00.H23"]
RECIPIENTS = ["000.00.00.G22", "000.00.00.G09", "000.00.00.H26"]
PUSHED = "000.00.00.H26"
QUIET = ClerkRules(enabled=False)  # no statuses: the load is the submissions
SPECS = [
    NodeSpec("000.00.00.H62", "UBND tỉnh Vĩnh Phúc", mode="pull", clerk=QUIET),
    NodeSpec("000.00.00.H23", "UBND tỉnh Hải Dương", clerk=QUIET),
    NodeSpec("000.00.00.G22", "Văn phòng Chính phủ", clerk=QUIET),
    NodeSpec("000.00.00.G09", "Bộ Nội vụ", mode="pull", clerk=QUIET),
    NodeSpec(PUSHED, "UBND thành phố Hà Nội", clerk=QUIET),
]
SHORT_RETRIES: dict[str, Any] = {
    "delivery_poll_seconds": 0.2,
    "push_backoff_base_seconds": 0.2,
    "push_backoff_max_seconds": 2.0,
    "push_max_attempts": 1000,  # only the time a node is down limits the attempts here
    "push_timeout_seconds": 2.0,
    "push_lease_seconds": 5,
    "inbox_lease_seconds": 5,
}


@dataclass
class Tally:
    """Every answer the load got, and which ids the hub accepted."""

    accepted: set[str] = field(default_factory=set)
    """Answered 202 (or 200: submitted before): the hub must deliver these."""
    unsure: set[str] = field(default_factory=set)
    """No answer, or 503: may be stored or not, never half."""
    answers: Counter[str] = field(default_factory=Counter)
    """`202`, `503 storage_full`, `transport error`, ..."""
    broken: list[str] = field(default_factory=list)
    """Answers the hub promises never to give (a 5xx that is not a 503 problem, ...)."""
    senders: dict[str, str] = field(default_factory=dict)
    """Who submitted each id: the diagnosis of a failure asks the sender for its trace."""

    def summary(self) -> str:
        return ", ".join(f"{key}: {n}" for key, n in sorted(self.answers.items()))


async def submit_continuously(
    network: Network,
    code: str,
    stop: asyncio.Event,
    tally: Tally,
    *,
    files: tuple[tuple[str, str, bytes], ...] = (),
    pause: float = 0.0,
    hub_url: str | None = None,
) -> None:
    """Submit one document after another as `code` (to `hub_url`, default the network's
    hub); tally each answer."""
    async with (
        network.client(code, timeout=10.0) as client,
        httpx.AsyncClient(base_url=hub_url or network.hub_url, timeout=10.0) as http,
    ):
        while not stop.is_set():
            package_id = str(uuid.uuid4())
            tally.senders[package_id] = code
            pkg = client.build_package(RECIPIENTS, HEADER, files, package_id=package_id)
            headers = {
                "Authorization": await client._authorization(),
                "Content-Type": "application/json",
            }
            try:
                response = await http.post(
                    "/v1/documents", content=package_json(pkg), headers=headers
                )
            except httpx.TransportError as exc:
                tally.answers[f"transport {type(exc).__name__}"] += 1
                tally.unsure.add(package_id)
                await asyncio.sleep(0.2)
                continue
            _tally(tally, package_id, response)
            if response.status_code >= 400:
                await asyncio.sleep(min(float(response.headers.get("retry-after", "0.2")), 0.5))
            elif pause:
                await asyncio.sleep(pause)


def _tally(tally: Tally, package_id: str, response: httpx.Response) -> None:
    status = response.status_code
    media_type = response.headers.get("content-type", "")
    code = ""
    if media_type == PROBLEM_MEDIA_TYPE:
        code = str(response.json().get("code"))
    tally.answers[f"{status} {code}".strip()] += 1
    if status in (200, 202):
        tally.accepted.add(package_id)
    elif status == 503:
        tally.unsure.add(package_id)
        if media_type != PROBLEM_MEDIA_TYPE or "retry-after" not in response.headers:
            tally.broken.append(f"503 without problem+json and Retry-After: {response.text[:200]}")
    elif status >= 500 or media_type != PROBLEM_MEDIA_TYPE:
        tally.broken.append(f"{status} {media_type}: {response.text[:300]}")
    else:
        tally.broken.append(f"refused: {status} {response.text[:300]}")


async def check_delivered(network: Network, tally: Tally, *, timeout: float = 90.0) -> None:
    """Every accepted id at every recipient, once each, and nothing never submitted."""
    assert not tally.broken, tally.broken[:5]
    assert tally.accepted, "the load had nothing accepted"

    async def all_arrived() -> bool:
        for code in RECIPIENTS:
            if not tally.accepted <= set(await inbox_ids(network, code)):
                return False
        return True

    try:
        await eventually(all_arrived, timeout=timeout, every=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {await _missing(network, tally)}") from None
    for code in RECIPIENTS:
        ids = await inbox_ids(network, code)
        assert len(ids) == len(set(ids)), f"{code} holds a document twice"
        assert set(ids) <= tally.accepted | tally.unsure


async def _missing(network: Network, tally: Tally) -> str:
    """What each recipient lacks, with the hub's trace of each missing id as its sender
    sees it: the failure then says where a document stopped."""
    lines = [f"at {time.strftime('%H:%M:%S')}"]
    for code in RECIPIENTS:
        missing = sorted(tally.accepted - set(await inbox_ids(network, code)))
        lines.append(f"{code} lacks {len(missing)}: {missing[:5]}")
        for package_id in missing[:3]:
            sender = tally.senders.get(package_id, "")
            async with network.client(sender, timeout=10.0) as client:
                try:
                    trace = await client.trace(package_id)
                except Exception as error:  # the diagnosis must not hide the failure
                    lines.append(f"  {package_id}: trace failed: {error!r}")
                else:
                    lines.extend(
                        f"  {package_id} from {sender} to {d.recipient}: {d.state.value} "
                        f"after {d.attempts} attempts, log "
                        + ", ".join(f"{a.started_at:%H:%M:%S.%f} {a.outcome} {a.detail or ''}"
                                    for a in d.attempt_log[-4:])
                        for d in trace.deliveries
                        if d.recipient == code
                    )  # fmt: skip
    return "\n".join(lines)


def check_event_log(network: Network, tmp_path: Path) -> int:
    """`lienthong log export` then `lienthong log verify`; the number of entries verified."""
    env = {**os.environ, **hub_environment(network.hub_settings), "PYTHONPATH": str(ROOT)}
    export = tmp_path / "log.jsonl"
    lienthong = [sys.executable, "-m", "lienthong", "log"]
    done = subprocess.run(
        [*lienthong, "export", "--out", str(export)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ca = network.provisioned.pki_dir / "ca.crt"
    verified = subprocess.run(
        [*lienthong, "verify", str(export), "--ca", str(ca)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return sum(1 for line in export.read_text(encoding="utf-8").splitlines() if line.strip())


async def run_load(
    network: Network,
    tally: Tally,
    stop: asyncio.Event,
    clients_per_sender: int = 2,
    hub_urls: Sequence[str] = (),
    **kwargs: Any,
) -> list[asyncio.Task[None]]:
    """`clients_per_sender` submitting clients per sender, spread over `hub_urls`."""
    urls = list(hub_urls) or [network.hub_url]
    return [
        asyncio.create_task(
            submit_continuously(network, code, stop, tally, hub_url=urls[n % len(urls)], **kwargs)
        )
        for code in SENDERS
        for n in range(clients_per_sender)
    ]


async def until(count: int, tally: Tally, timeout: float = 60.0) -> None:
    async def enough() -> bool:
        return len(tally.accepted) >= count

    await eventually(enough, timeout=timeout, every=0.1)


def report(name: str, tally: Tally, started: float, **figures: Any) -> None:
    """One line per scenario on stdout (`pytest -s` shows it): the figures of the run."""
    extra = " ".join(f"{key}={value}" for key, value in figures.items())
    print(
        f"\n[fault] {name}: {time.monotonic() - started:.1f}s, accepted={len(tally.accepted)} "
        f"unsure={len(tally.unsure)} answers: {tally.summary()} {extra}"
    )


def processes(
    tmp_path: Path, database_url: str | None = None, **settings: Any
) -> AbstractAsyncContextManager[Network]:
    """The scenarios' network: real processes, short retries (and `settings`), fast polls."""
    return launch(
        tmp_path / "net",
        SPECS,
        placement="processes",
        hub_settings={**SHORT_RETRIES, **settings},
        poll_interval=0.3,
        database_url=database_url,
    )


@dataclass
class Load:
    """The load running in a `checked_load` block; `log_entries` is set once it passed."""

    tally: Tally
    log_entries: int = 0


@asynccontextmanager
async def checked_load(network: Network, tmp_path: Path, **options: Any) -> AsyncIterator[Load]:
    """Run the load (`run_load` with `options`) for the block, stop it, then check the
    promises: every accepted document delivered once, and the event log verifies."""
    load = Load(Tally())
    stop = asyncio.Event()
    tasks = await run_load(network, load.tally, stop, **options)
    try:
        yield load
    finally:
        stop.set()
        ended = await asyncio.gather(*tasks, return_exceptions=True)
    for failure in ended:  # reached only when the block succeeded
        if isinstance(failure, BaseException):
            raise failure
    await check_delivered(network, load.tally)
    load.log_entries = check_event_log(network, tmp_path)
