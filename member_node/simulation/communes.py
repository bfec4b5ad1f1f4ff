"""`lienthong demo --communes N`: the demo on the national tree, N communes with a node.

The hub's registry holds the whole tree (about 12,000 members, loaded in bulk);
N communes drawn with the demo's seed get a node each, like the 94 units. On
top of the scenario's traffic, every province with an active commune sends a
directive down to its active communes, and every active commune reports up to
its province; the demo then prints how those documents fared.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from member_node.clerk import ClerkRules
from member_node.config import Mode
from member_node.simulation.provision import NodeSpec
from member_node.simulation.report import DeliveryFigures
from member_node.simulation.scenario import Scenario
from member_node.simulation.traffic import PlannedDocument
from registry.codes import AgencyCode
from registry.national import NationalUnit

__all__ = ["CommunePlan", "commune_plan", "print_communes"]


@dataclass(frozen=True)
class CommunePlan:
    specs: list[NodeSpec]
    down: list[PlannedDocument]
    """Each province's directive to its active communes."""
    up: list[PlannedDocument]
    """Each active commune's report to its province."""

    @property
    def documents(self) -> list[PlannedDocument]:
        return self.down + self.up


def commune_plan(
    tree: Sequence[NationalUnit],
    count: int,
    scenario: Scenario,
    seed: int,
    first_index: int,
) -> CommunePlan:
    """`count` communes of `tree` with a node (push or pull by the scenario's share), and
    their documents, numbered from `first_index`."""
    rng = random.Random(seed)
    communes = [unit for unit in tree if unit.kind == "commune"]
    chosen = sorted(rng.sample(communes, min(count, len(communes))), key=lambda u: u.code)
    specs = []
    for unit in chosen:
        mode: Mode = "push" if rng.random() < scenario.push_share else "pull"
        clerk = ClerkRules(steps=scenario.clerk_steps)
        specs.append(NodeSpec(unit.code, unit.name, "commune", mode, clerk))
    by_province: dict[str, list[str]] = {}
    for unit in chosen:
        by_province.setdefault(str(AgencyCode.parse(unit.code).root()), []).append(unit.code)
    index = first_index
    down = []
    for province, codes in sorted(by_province.items()):
        down.append(PlannedDocument(index, province, tuple(codes), "exchange", "compliant"))
        index += 1
    up = []
    for unit in chosen:
        province = str(AgencyCode.parse(unit.code).root())
        up.append(PlannedDocument(index, unit.code, (province,), "report", "compliant"))
        index += 1
    return CommunePlan(specs, down, up)


def print_communes(
    echo: Callable[[str], None],
    plan: CommunePlan,
    registered: int,
    down: DeliveryFigures,
    up: DeliveryFigures,
) -> None:
    """What reached the communes and what they sent up."""
    provinces = len(plan.down)
    echo(f"== Communes ({len(plan.specs)} with a node; {registered:,} members registered) ==")
    echo(
        f"  down  {len(plan.down)} directives from {provinces} provinces: "
        f"{down.received:,} of {down.deliveries:,} deliveries reached a commune's node, "
        f"{down.statuses['06']:,} completed (06)"
    )
    echo(
        f"  up    {len(plan.up)} reports from communes to their province: "
        f"{up.received:,} of {up.deliveries:,} reached the province's node, "
        f"{up.statuses['06']:,} completed (06)"
    )
