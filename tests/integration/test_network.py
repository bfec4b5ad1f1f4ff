"""The launcher: a network comes up in either placement, carries a document, goes down."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from member_node.clerk import ClerkRules
from member_node.simulation.launcher import Placement, launch
from member_node.simulation.provision import NodeSpec
from tests.integration.helpers import HEADER, eventually, inbox_ids

FAST_CLERK = ClerkRules(steps=(("03", 0.05), ("06", 0.05)))
SPECS = [
    NodeSpec("000.00.00.G22", "Văn phòng Chính phủ", kind="ministerial_agency", clerk=FAST_CLERK),
    NodeSpec(
        "000.00.00.H62", "UBND tỉnh Vĩnh Phúc", kind="province", mode="pull", clerk=FAST_CLERK
    ),
    NodeSpec("000.00.00.H23", "UBND tỉnh Hải Dương", kind="province", clerk=FAST_CLERK),
]
FAST_HUB = {"delivery_poll_seconds": 0.2}


async def _send_and_follow(network_dir: Path, placement: Placement) -> None:
    async with launch(
        network_dir, SPECS, placement=placement, hub_settings=FAST_HUB, poll_interval=0.3
    ) as network:
        async with network.client("000.00.00.H62") as sender:
            result = await sender.send(["000.00.00.G22", "000.00.00.H23"], HEADER)
            assert result.verdict.compliant, result.verdict.violations

            async def completed() -> bool:
                trace = await sender.trace(result.document_id)
                return all(d.state == "completed" for d in trace.deliveries)

            await eventually(completed)
        for code in ("000.00.00.G22", "000.00.00.H23"):
            assert await inbox_ids(network, code) == [result.document_id]

        async with network.client("000.00.00.G22") as office:  # to a pull member
            back = await office.send(["000.00.00.H62"], HEADER)

            async def pulled() -> bool:
                return back.document_id in await inbox_ids(network, "000.00.00.H62")

            await eventually(pulled)
        hub_url = network.hub_url
    if placement == "processes":
        with pytest.raises(httpx.TransportError):  # torn down: nothing listens any more
            httpx.get(f"{hub_url}/healthz", timeout=2)


async def test_inprocess_network_delivers_and_reports_statuses(tmp_path: Path) -> None:
    await _send_and_follow(tmp_path / "net", "inprocess")


@pytest.mark.slow
async def test_process_network_delivers_and_reports_statuses(tmp_path: Path) -> None:
    await _send_and_follow(tmp_path / "net", "processes")


async def test_provisioning_registers_every_member_with_its_mode(tmp_path: Path) -> None:
    async with launch(tmp_path / "net", SPECS) as network:
        async with network.hub_http() as hub:
            response = await hub.get("/v1/admin/members", headers=network.operator_headers("admin"))
        assert response.status_code == 200, response.text
        modes = {m["code"]: m["delivery_mode"] for m in response.json()["items"]}
        assert modes == {"000.00.00.G22": "push", "000.00.00.H62": "pull", "000.00.00.H23": "push"}
        key = network.provisioned.nodes["000.00.00.G22"].keys_dir / "org.key"
        assert key.stat().st_mode & 0o777 == 0o600


async def test_an_offline_inprocess_node_gets_its_delivery_once_back(tmp_path: Path) -> None:
    hub = {**FAST_HUB, "push_backoff_base_seconds": 0.1, "push_backoff_max_seconds": 0.3}
    async with launch(tmp_path / "net", SPECS, hub_settings=hub) as network:
        await network.take_down("000.00.00.H23")
        async with network.client("000.00.00.G22") as office:
            result = await office.send(["000.00.00.H23"], HEADER)

            async def retried() -> bool:
                trace = await office.trace(result.document_id)
                return trace.deliveries[0].attempts >= 3

            await eventually(retried)
            trace = await office.trace(result.document_id)
            assert trace.deliveries[0].delivered_at is None
            await network.bring_up("000.00.00.H23")

            async def delivered() -> bool:
                return await inbox_ids(network, "000.00.00.H23") == [result.document_id]

            await eventually(delivered)
