"""`lienthong demo`: a short national run in-process prints every table."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lienthong.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_short_national_demo_prints_the_tables(tmp_path: Path) -> None:
    argv = ["demo", "--documents", "40", "--seed", "7", "--data-dir", str(tmp_path / "demo")]
    result = subprocess.run(
        [sys.executable, "-m", "lienthong", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "94 nodes" in out
    assert "recipients of the Prime Minister's decision" in out
    assert "93  recipients" in out
    for table in (
        "== Documents ==",
        "== Delivery outcomes ==",
        "== Delivery latency",
        "== Clerks' statuses ==",
        "== Signature compliance per sender",
        "== Documents sent to the Government Office",
    ):
        assert table in out
    latency = out.split("== Delivery latency", 1)[1].split("==", 2)[1]
    assert all(f"  {mode} " in latency for mode in ("all", "push", "pull"))
    # the split: accepting (one line, a count per document), then delivering by mode, whose
    # counts add up to the deliveries received
    accepting, delivering = latency.split("of which the hub accepting", 1)[1].split(
        "and delivering it", 1
    )
    counts = [int(line.rsplit("(", 1)[1].rstrip(")").replace(",", "")) for line in
              delivering.strip().splitlines()[1:3]]  # fmt: skip
    received = int(out.split("received", 1)[1].split()[0].replace(",", ""))
    assert sum(counts) == received
    sent = int(out.split("sent", 1)[1].split()[0].replace(",", ""))
    assert f"({sent:,})" in accepting
    assert "000.00.00.H62" in out and "17.9%" in out
    assert "000.00.00.H23" in out and "35.5%" in out


def test_a_bad_scenario_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    shipped = ROOT / "member_node" / "simulation" / "scenario.toml"
    shipped_text = shipped.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^documents = \d+", "documents = 0", shipped_text)
    assert text != shipped_text
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--scenario", str(bad)])
    assert result.exit_code == 2
    assert "traffic.documents" in result.output


@pytest.mark.parametrize("seed", [2019, 7, 1, 42])
def test_the_two_provinces_sign_their_scenario_share_whatever_the_seed(seed: int) -> None:
    from member_node.simulation.scenario import load_scenario
    from member_node.simulation.traffic import plan_traffic
    from registry.national import load_national_units

    units = load_national_units()
    scenario = load_scenario()
    codes = [unit.code for unit in units]
    provinces = [unit.code for unit in units if unit.kind == "province"]
    plan = plan_traffic(scenario, codes, provinces, seed)
    office = scenario.government_office
    for code, share in (("000.00.00.H62", 0.179), ("000.00.00.H23", 0.355)):
        sent = [doc for doc in plan if doc.sender == code and office in doc.recipients]
        signed = sum(doc.signing != "unsigned" for doc in sent)
        assert len(sent) >= 50  # the shipped scenario's 55 extra reports, and the usual one
        assert abs(signed - share * len(sent)) < 1  # within one document


def test_rare_defects_still_turn_up_across_small_senders() -> None:
    import random

    from member_node.simulation.scenario import SigningBehaviour
    from member_node.simulation.traffic import draw_signings

    behaviour = SigningBehaviour(0.97, {"no_personal": 0.05, "weak_key": 0.005})
    rng = random.Random(3)
    ways = [way for _ in range(2000) for way in draw_signings(behaviour, 4, rng)]
    assert 0.02 < ways.count("unsigned") / len(ways) < 0.04
    assert 0.035 < ways.count("no_personal") / len(ways) < 0.06
    assert ways.count("weak_key") > 10


def _children(pid: int) -> set[int]:
    argv = ["ps", "-o", "pid=", "--ppid", str(pid)]
    listed = subprocess.run(argv, capture_output=True, text=True, check=False)
    return {int(word) for word in listed.stdout.split()}


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lienthong", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _stop(process: subprocess.Popen[str], children: set[int]) -> tuple[str, set[int]]:
    """SIGTERM the launcher; what it printed, and which of `children` outlived it."""
    process.send_signal(signal.SIGTERM)
    try:
        rest, _ = process.communicate(timeout=120)
    finally:
        survivors = _alive(children)
        for pid in survivors:  # leave nothing behind, whatever the test says
            os.kill(pid, signal.SIGKILL)
    return rest, survivors


@pytest.mark.slow
def test_sigterm_tears_a_process_network_down(tmp_path: Path) -> None:
    argv = ["network", "up", "--members", "3", "--processes", "--data-dir", str(tmp_path / "n")]
    process = _start(argv)
    assert process.stdout is not None
    children: set[int] = set()
    for line in process.stdout:
        children |= _children(process.pid)
        if line.startswith("up;"):
            break
    children |= _children(process.pid)
    assert len(children) == 4  # the hub and three nodes
    rest, survivors = _stop(process, children)
    assert process.returncode == 0, rest
    assert "stopped: the hub and the nodes are down" in rest
    assert not survivors


@pytest.mark.slow
def test_sigterm_while_the_demo_starts_its_processes_leaves_none(tmp_path: Path) -> None:
    argv = ["demo", "--processes", "--documents", "2", "--data-dir", str(tmp_path / "demo")]
    process = _start(argv)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while len(children) < 95 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            children |= _children(process.pid)
        assert len(children) == 95, children  # the hub and 94 nodes, starting up
    finally:
        rest, survivors = _stop(process, children)
    assert "stopped: the hub and the nodes are down" in rest, rest[-3000:]
    assert not survivors


@pytest.mark.slow
def test_demo_serve_serves_the_dashboard_on_loopback(tmp_path: Path) -> None:
    argv = ["demo", "--documents", "2", "--serve", "--data-dir", str(tmp_path / "demo")]
    process = _start(argv)
    assert process.stdout is not None
    url = None
    for line in process.stdout:
        found = re.search(r"Dashboard: (http://127\.0\.0\.1:\d+)/ui", line)
        if found:
            url = found.group(1)
            break
    assert url is not None, "the demo ended without serving"
    try:
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
        login = httpx.get(f"{url}/ui/login", timeout=30)
        assert login.status_code == 200 and "<form" in login.text
    finally:
        rest, _ = _stop(process, set())
    assert process.returncode == 0, rest


def test_a_third_of_the_units_speak_edxml_with_the_scenarios_own() -> None:
    import random

    from member_node.simulation.demo import node_specs
    from member_node.simulation.scenario import load_scenario
    from registry.national import load_national_units

    units = load_national_units()
    scenario = load_scenario()
    for seed in (2019, 7):
        specs = node_specs(units, scenario, random.Random(seed), random.Random(seed + 1))
        edxml = {spec.code for spec in specs if spec.wire_format == "edxml"}
        assert len(edxml) == round(scenario.edxml_share * len(units))
        assert set(scenario.edxml_units) <= edxml
        # the push/pull draw does not depend on the formats
        same = node_specs(units, scenario, random.Random(seed), random.Random(0))
        assert [s.mode for s in same] == [s.mode for s in specs]
