"""`lienthong demo`: a short national run in-process prints every table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
