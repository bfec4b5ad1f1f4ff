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
from member_node.simulation.communes import CommunePlan, commune_plan, print_communes
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
from registry.national_tree import national_tree

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
    concurrency: int = 4
    """Documents in flight at once. The in-process hub and nodes share one event loop
    that is saturated already at this: more in flight only waits longer in its queues
    (12 sent the default run in 320 s with latency p50 13.9 s; 4 in 257 s, p50 2.8 s)."""
    hub_concurrency: int | None = None
    """Requests inside the in-process hub at once (None: unbounded; see `hubgate`)."""
    poll_interval: float = 3.0
    """How often each pull node polls the hub."""
    port: int | None = None
    """With `serve`: the loopback port the hub listens on (default: a free one)."""
    communes: int = 0
    """With more than 0: the whole national tree registered, that many communes with a node
    (`member_node.simulation.communes`)."""


def node_specs(
    units: list[NationalUnit],
    scenario: Scenario,
    rng: random.Random,
    formats: random.Random | None = None,
) -> list[NodeSpec]:
    """The 94 nodes: push or pull by the scenario's share; the offline node pushes;
    edXML for the scenario's edXML units and as many more, drawn from `formats`
    (so the push/pull draw is the same with or without edXML), as make its share."""
    offline = scenario.offline.code if scenario.offline else None
    formats = formats or random.Random(0)
    codes = [unit.code for unit in units]
    wanted = round(scenario.edxml_share * len(codes))
    edxml = {code for code in scenario.edxml_units if code in codes}
    others = [code for code in codes if code not in edxml]
    edxml.update(formats.sample(others, max(0, min(wanted - len(edxml), len(others)))))
    specs = []
    for unit in units:
        push = unit.code == offline or rng.random() < scenario.push_share
        mode: Mode = "push" if push else "pull"
        clerk = ClerkRules(
            steps=scenario.clerk_steps,
            reject_violations=scenario.clerk_rejects.get(unit.code, frozenset()),
        )
        wire_format = "edxml" if unit.code in edxml else "json"
        specs.append(
            NodeSpec(unit.code, unit.name, unit.kind, mode, clerk, wire_format=wire_format)
        )
    return specs


@dataclass
class DemoNetwork:
    """The units the demo starts, and the documents it will play between them."""

    specs: list[NodeSpec]
    plan: list[PlannedDocument]
    names: dict[str, str]
    tree: list[NationalUnit]
    """The whole national tree, registered without nodes (with `--communes` only)."""
    communes: CommunePlan | None


def demo_network(options: DemoOptions) -> DemoNetwork:
    """The national units (and the communes asked for) with their traffic, from the seed."""
    units = load_national_units()
    names = {unit.code: unit.name for unit in units}
    codes = [unit.code for unit in units]
    provinces = [unit.code for unit in units if unit.kind == "province"]
    rng = random.Random(options.seed)
    specs = node_specs(units, options.scenario, rng, random.Random(options.seed + 1))
    plan = plan_traffic(options.scenario, codes, provinces, options.seed)
    tree: list[NationalUnit] = []
    communes: CommunePlan | None = None
    if options.communes:
        tree = national_tree()
        communes = commune_plan(tree, options.communes, options.scenario, options.seed, len(plan))
        specs += communes.specs
        plan += communes.documents
        names.update({spec.code: spec.name for spec in communes.specs})
    return DemoNetwork(specs, plan, names, tree, communes)


async def run_demo(options: DemoOptions, echo: Echo = typer.echo) -> None:
    demo = demo_network(options)
    specs, plan = demo.specs, demo.plan
    signer = DocumentSigner(demo.names)
    shutil.rmtree(options.data_dir, ignore_errors=True)
    pushes = sum(spec.mode == "push" for spec in specs)
    edxml = sum(spec.wire_format == "edxml" for spec in specs)
    echo(
        f"Provisioning the national CA and {len(specs)} units; starting the hub and "
        f"{len(specs)} nodes ({pushes} push, {len(specs) - pushes} pull; "
        f"{edxml} edXML, {len(specs) - edxml} JSON; {options.placement}) in {options.data_dir}"
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
        hub_port=options.port,
        registry=demo.tree,
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
                edxml_senders=frozenset(s.code for s in specs if s.wire_format == "edxml"),
            )
        echo(f"Sent in {played.seconds:.1f} s; waiting for deliveries and clerks' statuses...")
        await wait_settled(network)
        await _print_results(echo, network, options, demo, played)
        echo(f"\nThe whole run took {time.monotonic() - started:.0f} s.")
        if options.serve:
            await serve_forever(network, echo, options.port)


async def _print_results(
    echo: Echo, network: Network, options: DemoOptions, demo: DemoNetwork, played: Played
) -> None:
    """What the run came to: deliveries, formats, compliance, the Government Office's view,
    and the communes' when they took part."""
    plan, names = demo.plan, demo.names
    accepted = [(plan[i].sender, r.document_id) for i, r in sorted(played.results.items())]
    figures = await delivery_figures(network, accepted, answered_at=played.answered_at)
    report = await compliance(network)
    to_office = {
        code: await compliance(network, sender=code, recipient=options.scenario.government_office)
        for code in _checked_provinces(options.scenario)
    }
    echo("")
    print_delivery(echo, plan, played, figures, options.scenario, names)
    print_formats(echo, plan, played, {s.code: s.wire_format for s in demo.specs})
    print_compliance(echo, report, names)
    print_government_office(echo, to_office, options.scenario, names)
    if demo.communes is not None:
        await _print_communes(echo, network, demo.communes, played, len(demo.tree))


async def _print_communes(
    echo: Echo, network: Network, communes: CommunePlan, played: Played, registered: int
) -> None:
    def sent(docs: list[PlannedDocument]) -> list[tuple[str, str]]:
        results = played.results
        return [(d.sender, results[d.index].document_id) for d in docs if d.index in results]

    down = await delivery_figures(network, sent(communes.down))
    up = await delivery_figures(network, sent(communes.up))
    print_communes(echo, communes, registered, down, up)


def _checked_provinces(scenario: Scenario) -> list[str]:
    return [
        rule.sender
        for rule in scenario.rules
        if rule.recipient == scenario.government_office and rule.signed is not None
    ]


async def serve_forever(network: Network, echo: Echo, port: int | None = None) -> None:
    """Keep the network up, the hub reachable on loopback, until Ctrl-C or SIGTERM.

    A hub process already listens on its port. An in-process hub is an ASGI app
    whose clients are wired in memory, so it is also served on a loopback port
    here, for a browser and curl.
    """
    if network.hub_app is None:
        _announce(network.hub_url, network, echo)
        while True:
            await asyncio.sleep(3600)
    import uvicorn

    from member_node.simulation.processes import free_ports

    chosen = port or free_ports(1)[0]
    config = uvicorn.Config(
        network.hub_app, host="127.0.0.1", port=chosen, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # the port was taken, say: raises uvicorn's error
            raise SystemExit(f"the hub could not listen on 127.0.0.1:{chosen}")
        await asyncio.sleep(0.05)
    _announce(f"http://127.0.0.1:{chosen}", network, echo)
    await serving


def _announce(url: str, network: Network, echo: Echo) -> None:
    echo(f"\nDashboard: {url}/ui  (operator token: {network.provisioned.auditor_token})")
    echo(f"Reports:   {url}/v1/reports/signature-compliance")
    echo("The hub and the nodes keep running; Ctrl-C (or SIGTERM) stops them.")


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
        _latency_line(echo, name, lat)
    if figures.accepting:
        echo("  of which the hub accepting each document (receipt to the sender's 202):")
        _latency_line(echo, "", figures.accepting)
        echo("  and delivering it (the sender's 202 to the recipient's node):")
        for mode in ("push", "pull"):
            _latency_line(echo, mode, figures.after_answer_by_mode.get(mode, []))
    echo("== Clerks' statuses ==")
    echo(
        "  "
        + "  ".join(
            f"{c} {STATE_BY_CODE.get(c, c)} {n:,}" for c, n in sorted(figures.statuses.items())
        )
    )


def _latency_line(echo: Echo, name: str, lat: list[float]) -> None:
    echo(
        f"  {name:<5}"
        + "  ".join(f"p{p} {percentile(lat, p):.2f} s" for p in (50, 90, 95, 99))
        + f"  max {max(lat, default=0.0):.2f} s  ({len(lat):,})"
    )


def print_formats(
    echo: Echo, plan: list[PlannedDocument], played: Played, formats: dict[str, str]
) -> None:
    """How many documents went in each wire format, and how many crossed formats: reached
    a recipient that receives in the other one."""
    sent = {"json": 0, "edxml": 0}
    crossed = {"json": 0, "edxml": 0}
    deliveries = 0
    for index in played.results:
        doc = plan[index]
        submitted = played.formats.get(index, "json")
        sent[submitted] += 1
        other = [code for code in doc.recipients if formats.get(code, "json") != submitted]
        if other:
            crossed[submitted] += 1
            deliveries += len(other)
    members = sum(f == "edxml" for f in formats.values())
    echo(f"== Wire formats ({members} of {len(formats)} units speak edXML) ==")
    echo(f"  submitted as JSON  {sent['json']:>7,}   as edXML {sent['edxml']:>7,}")
    echo(
        f"  crossed formats    {crossed['json'] + crossed['edxml']:>7,}   documents "
        f"(JSON to an edXML member {crossed['json']:,}, edXML to a JSON member "
        f"{crossed['edxml']:,}; {deliveries:,} deliveries converted by the hub)"
    )


def print_compliance(
    echo: Echo, report: dict[str, Any], names: dict[str, str], rows: int = 15
) -> None:
    echo(
        f"== Signature compliance per sender (the {rows} least compliant of "
        f"{len(report['rows'])}) =="
    )
    echo("  (signed where: the share signed in the PDF only, on the envelope only, both)")
    echo(
        f"  {'sender':<14}{'name':<34}{'docs':>6}{'signed':>8}{'PDF':>7}{'env.':>7}{'both':>7}"
        f"{'compliant':>10}  top violations"
    )
    ordered = sorted(report["rows"], key=lambda row: (row["compliant_share"], -row["documents"]))
    for row in [*ordered[:rows], report["total"]]:
        top = sorted(((n, code) for code, n in row["violations"].items() if n), reverse=True)[:3]
        name = (
            names.get(row["key"], row.get("name") or "")[:32] if row is not report["total"] else ""
        )
        key = row["key"] if row is not report["total"] else "all senders"
        where = row["signed_in_share"]
        echo(
            f"  {key:<14}{name:<34}{row['documents']:>6}{row['signed_share']:>8.1%}"
            f"{where['pdf_only']:>7.1%}{where['envelope_only']:>7.1%}{where['both']:>7.1%}"
            f"{row['compliant_share']:>10.1%}  " + ", ".join(f"{code} {n}" for n, code in top)
        )


def print_government_office(
    echo: Echo, reports: dict[str, dict[str, Any]], scenario: Scenario, names: dict[str, str]
) -> None:
    office = scenario.government_office
    echo(f"== Documents sent to the Government Office ({office}): share signed in the PDF ==")
    echo(f"  {'sender':<14}{'name':<34}{'docs':>6}{'measured':>10}{'scenario':>10}  95% interval")
    for code, report in reports.items():
        total = report["total"]
        expected = scenario.behaviour(code, [office]).expected_signed_in_pdf
        n = total["documents"]
        if n == 0:
            echo(f"  {code:<14}{names.get(code, code)[:32]:<34}{n:>6}  (none sent in this run)")
            continue
        half = sampling_interval(expected, n)
        measured = total["signed_pdf_share"]
        inside = abs(measured - expected) <= half
        echo(
            f"  {code:<14}{names.get(code, code)[:32]:<34}{n:>6}{measured:>10.1%}"
            f"{expected:>10.1%}  ±{half:.1%} {'(within)' if inside else '(OUTSIDE)'}"
        )
