"""Crash safety with real processes: a SIGKILLed hub loses nothing it answered 202 for,
and a push node that was down gets its deliveries once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest

from member_node.clerk import ClerkRules
from member_node.errors import HubError
from member_node.simulation.launcher import Network, launch
from member_node.simulation.provision import NodeSpec
from tests.integration.helpers import HEADER, eventually, inbox_ids

SENDERS = ["000.00.00.H62", "000.00.00.H23"]
RECIPIENTS = ["000.00.00.G22", "000.00.00.G09", "000.00.00.H26"]
QUIET = ClerkRules(enabled=False)  # no statuses: the load is the submissions
SPECS = [
    NodeSpec("000.00.00.H62", "UBND tỉnh Vĩnh Phúc", mode="pull", clerk=QUIET),
    NodeSpec("000.00.00.H23", "UBND tỉnh Hải Dương", clerk=QUIET),
    NodeSpec("000.00.00.G22", "Văn phòng Chính phủ", clerk=QUIET),
    NodeSpec("000.00.00.G09", "Bộ Nội vụ", mode="pull", clerk=QUIET),
    NodeSpec("000.00.00.H26", "UBND thành phố Hà Nội", clerk=QUIET),
]
SHORT_RETRIES = {
    "delivery_poll_seconds": 0.2,
    "push_backoff_base_seconds": 0.2,
    "push_backoff_max_seconds": 1.0,
    "push_max_attempts": 1000,  # only the time a node is down limits the attempts here
    "push_timeout_seconds": 2.0,
    "push_lease_seconds": 5,
    "inbox_lease_seconds": 5,
}


async def _submit_continuously(
    network: Network, code: str, stop: asyncio.Event, accepted: set[str], unsure: set[str]
) -> None:
    """Submit one document after another; sort each id by whether a 202 came back."""
    async with network.client(code, timeout=5.0) as client:
        while not stop.is_set():
            package_id = str(uuid.uuid4())
            try:
                result = await client.send(RECIPIENTS, HEADER, package_id=package_id)
            except HubError:
                unsure.add(package_id)
                await asyncio.sleep(0.2)
                continue
            assert all(r.outcome == "accepted" for r in result.recipients)
            accepted.add(result.document_id)


@pytest.mark.slow
async def test_a_sigkilled_hub_loses_no_accepted_document(tmp_path: Path) -> None:
    async with launch(
        tmp_path / "net",
        SPECS,
        placement="processes",
        hub_settings=SHORT_RETRIES,
        poll_interval=0.3,
    ) as network:
        accepted: set[str] = set()
        unsure: set[str] = set()
        stop = asyncio.Event()
        load = [
            asyncio.create_task(_submit_continuously(network, code, stop, accepted, unsure))
            for code in SENDERS
            for _ in range(2)
        ]
        await eventually(lambda: _at_least(accepted, 20), timeout=30)
        network.kill_hub()  # SIGKILL mid-load: no shutdown handler runs
        before_restart = len(accepted)
        await asyncio.sleep(0.5)
        await network.restart_hub()
        await eventually(lambda: _at_least(accepted, before_restart + 20), timeout=30)
        stop.set()
        await asyncio.gather(*load)
        assert unsure, "the kill should have cut some submissions off"

        async def all_arrived() -> bool:
            for code in RECIPIENTS:
                if not accepted <= set(await inbox_ids(network, code)):
                    return False
            return True

        await eventually(all_arrived, timeout=40)
        for code in RECIPIENTS:  # each package id once per node, after deduplication
            ids = await inbox_ids(network, code)
            assert len(ids) == len(set(ids))
            assert set(ids) <= accepted | unsure

        # A submission cut off without its 202 is all there or not there at all.
        stored = set()
        async with network.client(SENDERS[0]) as first, network.client(SENDERS[1]) as second:
            for package_id in unsure:
                trace = None
                for client in (first, second):
                    with contextlib.suppress(HubError):
                        trace = await client.trace(package_id)
                if trace is not None:
                    assert sorted(d.recipient for d in trace.deliveries) == sorted(RECIPIENTS)
                    stored.add(package_id)
        for code in RECIPIENTS:
            held = set(await inbox_ids(network, code)) & unsure
            assert held <= stored


async def _at_least(ids: set[str], count: int) -> bool:
    return len(ids) >= count


@pytest.mark.slow
async def test_a_push_node_down_for_several_retries_gets_its_deliveries_after(
    tmp_path: Path,
) -> None:
    async with launch(
        tmp_path / "net", SPECS, placement="processes", hub_settings=SHORT_RETRIES
    ) as network:
        down = "000.00.00.H26"
        await network.take_down(down)
        async with network.client("000.00.00.H62") as sender:
            sent = [(await sender.send([down], HEADER)).document_id for _ in range(5)]

            async def retried_several_times() -> bool:
                traces = [await sender.trace(doc) for doc in sent]
                return all(t.deliveries[0].attempts >= 4 for t in traces)

            await eventually(retried_several_times, timeout=30)
            for doc in sent:
                delivery = (await sender.trace(doc)).deliveries[0]
                assert delivery.delivered_at is None
                assert delivery.state == "queued"
            await network.bring_up(down)

            async def arrived() -> bool:
                # at the node, and recorded by the hub's worker (a moment after the node)
                states = [(await sender.trace(doc)).deliveries[0].state for doc in sent]
                return sorted(await inbox_ids(network, down)) == sorted(sent) and all(
                    state == "delivered" for state in states
                )

            await eventually(arrived, timeout=30)
            for doc in sent:
                delivery = (await sender.trace(doc)).deliveries[0]
                assert delivery.state == "delivered"
                assert delivery.attempts >= 5
