"""The national demo: the 94 units of 2019 on one machine, with the seeds' traffic.

Provision the national CA and the registry, start the hub and 94 nodes (push
and pull), play the scenario's traffic with a progress bar, wait until every
delivery and clerk status has landed, then print what the hub measured.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from hub.protocol import STATE_BY_CODE
from member_node.clerk import ClerkRules
from member_node.config import Mode
from member_node.simulation.launcher import Network, Placement, launch
from member_node.simulation.player import Played, play
from member_node.simulation.provision import NodeSpec, Provisioned
from member_node.simulation.report import (
    SEED_RATIO,
    DeliveryFigures,
    compliance,
    delivery_figures,
    percentile,
    sampling_interval,
    wait_settled,
)
from member_node.simulation.scenario import Scenario
from member_node.simulation.signer import DocumentSigner
from member_node.simulation.traffic import PlannedDocument, plan_traffic
from registry.national import NationalUnit, load_national_units

DEMO_HUB = {
    "delivery_poll_seconds": 0.5,
    "push_backoff_base_seconds": 1.0,
    "push_backoff_max_seconds": 4.0,
    "push_max_attempts": 1000,  # a node down for a while is retried until it is back
    "push_timeout_seconds": 10.0,
    "eventlog_seal_interval_seconds": 1.0,  # one contender less for SQLite's write lock
    "log_level": "WARNING",  # the tables are the output, not one line per request
}
Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    scenario: Scenario
    seed: int = 2019
    data_dir: Path = Path("var/demo")
    placement: Placement = "inprocess"
    serve: bool = False
    concurrency: int = 12
    hub_concurrency: int | None = None
    """Requests inside the in-process hub at once (None: unbounded; see `hubgate`)."""
    poll_interval: float = 3.0
    """How often each pull node polls the hub."""


def node_specs(units: list[NationalUnit], scenario: Scenario, rng: random.Random) -> list[NodeSpec]:
    """The 94 nodes: push or pull by the scenario's share; the offline node pushes."""
    offline = scenario.offline.code if scenario.offline else None
    specs = []
    for unit in units:
        push = unit.code == offline or rng.random() < scenario.push_share
        mode: Mode = "push" if push else "pull"
        clerk = ClerkRules(
            steps=scenario.clerk_steps,
            reject_violations=scenario.clerk_rejects.get(unit.code, frozenset()),
        )
        specs.append(NodeSpec(unit.code, unit.name, unit.kind, mode, clerk))
    return specs


async def run_demo(options: DemoOptions, echo: Echo = typer.echo) -> None:
    units = load_national_units()
    names = {unit.code: unit.name for unit in units}
    codes = [unit.code for unit in units]
    provinces = [unit.code for unit in units if unit.kind == "province"]
    rng = random.Random(options.seed)
    specs = node_specs(units, options.scenario, rng)
    plan = plan_traffic(options.scenario, codes, provinces, options.seed)
    signer = DocumentSigner()
    shutil.rmtree(options.data_dir, ignore_errors=True)
    pushes = sum(spec.mode == "push" for spec in specs)
    echo(
        f"Provisioning the national CA and {len(specs)} units; starting the hub and "
        f"{len(specs)} nodes ({pushes} push, {len(specs) - pushes} pull, "
        f"{options.placement}) in {options.data_dir}"
    )
    started = time.monotonic()

    def prepare(provisioned: Provisioned) -> None:
        signer.issue_faulty(provisioned.ca, plan)

    async with launch(
        options.data_dir,
        specs,
        placement=options.placement,
        hub_settings=DEMO_HUB,
        prepare=prepare,
        poll_interval=options.poll_interval,
        hub_concurrency=options.hub_concurrency,
    ) as network:
        echo(f"Network up in {time.monotonic() - started:.1f} s; hub at {network.hub_url}")
        echo(f"Playing {len(plan)} documents (seed {options.seed}):")
        with typer.progressbar(length=len(plan), label="documents", width=40) as bar:
            played = await play(
                network,
                plan,
                signer,
                offline=options.scenario.offline,
                concurrency=options.concurrency,
                progress=bar.update,
            )
        echo(f"Sent in {played.seconds:.1f} s; waiting for deliveries and clerks' statuses...")
        await wait_settled(network)
        accepted = [(plan[i].sender, r.document_id) for i, r in sorted(played.results.items())]
        figures = await delivery_figures(network, accepted)
        report = await compliance(network)
        to_office = {
            code: await compliance(
                network, sender=code, recipient=options.scenario.government_office
            )
            for code in _checked_provinces(options.scenario)
        }
        echo("")
        print_delivery(echo, plan, played, figures, options.scenario, names)
        print_compliance(echo, report, names)
        print_government_office(echo, to_office, options.scenario, names)
        echo(f"\nThe whole run took {time.monotonic() - started:.0f} s.")
        if options.serve:
            await serve_forever(network, echo)


def _checked_provinces(scenario: Scenario) -> list[str]:
    return [
        rule.sender
        for rule in scenario.rules
        if rule.recipient == scenario.government_office and rule.signed is not None
    ]


async def serve_forever(network: Network, echo: Echo) -> None:
    echo(
        f"\nDashboard: {network.hub_url}/ui  (operator token: {network.provisioned.auditor_token})"
    )
    echo("Reports:   " + f"{network.hub_url}/v1/reports/signature-compliance")
    echo("The hub and the nodes keep running; Ctrl-C stops them.")
    while True:
        await asyncio.sleep(3600)


def print_delivery(
    echo: Echo,
    plan: list[PlannedDocument],
    played: Played,
    figures: DeliveryFigures,
    scenario: Scenario,
    names: dict[str, str],
) -> None:
    received = figures.received
    ratio = received / len(played.results) if played.results else 0.0
    echo("== Documents ==")
    echo(f"  sent      {len(played.results):>7,}  (refused at submission: {len(played.errors)})")
    echo(f"  received  {received:>7,}  ({ratio:.2f} per document; the 2019 axis: {SEED_RATIO:.2f})")
    echo(f"  broadcast {len(plan[0].recipients):>7}  recipients of the Prime Minister's decision")
    echo("== Delivery outcomes ==")
    for state, count in sorted(figures.states.items(), key=lambda kv: -kv[1]):
        echo(f"  {state:<12}{count:>7,}")
    retried = sum(figures.retried.values())
    echo(f"  retried     {retried:>7,}  deliveries needed more than one attempt")
    if scenario.offline and played.offline_window:
        code = scenario.offline.code
        down, up = played.offline_window
        echo(
            f"  offline     {names.get(code, code)} ({code}) was down from {down:.0f} s to "
            f"{up:.0f} s: {figures.retried.get(code, 0)} of its deliveries were retried, "
            "then arrived"
        )
    echo("== Delivery latency (hub receipt to the recipient's node) ==")
    lines = [("all", figures.latencies)]
    lines += [(mode, figures.latencies_by_mode.get(mode, [])) for mode in ("push", "pull")]
    for name, lat in lines:
        echo(
            f"  {name:<5}"
            + "  ".join(f"p{p} {percentile(lat, p):.2f} s" for p in (50, 90, 95, 99))
            + f"  max {max(lat, default=0.0):.2f} s  ({len(lat):,})"
        )
    echo("== Clerks' statuses ==")
    echo(
        "  "
        + "  ".join(
            f"{c} {STATE_BY_CODE.get(c, c)} {n:,}" for c, n in sorted(figures.statuses.items())
        )
    )


def print_compliance(
    echo: Echo, report: dict[str, Any], names: dict[str, str], rows: int = 15
) -> None:
    echo(
        f"== Signature compliance per sender (the {rows} least compliant of "
        f"{len(report['rows'])}) =="
    )
    echo(f"  {'sender':<14}{'name':<34}{'docs':>6}{'signed':>8}{'compliant':>10}  top violations")
    ordered = sorted(report["rows"], key=lambda row: (row["compliant_share"], -row["documents"]))
    for row in [*ordered[:rows], report["total"]]:
        top = sorted(((n, code) for code, n in row["violations"].items() if n), reverse=True)[:3]
        name = (
            names.get(row["key"], row.get("name") or "")[:32] if row is not report["total"] else ""
        )
        key = row["key"] if row is not report["total"] else "all senders"
        echo(
            f"  {key:<14}{name:<34}{row['documents']:>6}{row['signed_share']:>8.1%}"
            f"{row['compliant_share']:>10.1%}  " + ", ".join(f"{code} {n}" for n, code in top)
        )


def print_government_office(
    echo: Echo, reports: dict[str, dict[str, Any]], scenario: Scenario, names: dict[str, str]
) -> None:
    office = scenario.government_office
    echo(f"== Documents sent to the Government Office ({office}): signed share ==")
    echo(f"  {'sender':<14}{'name':<34}{'docs':>6}{'measured':>10}{'scenario':>10}  95% interval")
    for code, report in reports.items():
        total = report["total"]
        expected = scenario.behaviour(code, [office]).signed
        n = total["documents"]
        half = sampling_interval(expected, n)
        inside = abs(total["signed_share"] - expected) <= half
        echo(
            f"  {code:<14}{names.get(code, code)[:32]:<34}{n:>6}{total['signed_share']:>10.1%}"
            f"{expected:>10.1%}  ±{half:.1%} {'(within)' if inside else '(OUTSIDE)'}"
        )
