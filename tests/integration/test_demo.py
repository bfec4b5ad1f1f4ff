"""`lienthong demo`: a short national run in-process prints every table."""

from __future__ import annotations

import os
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
    assert "000.00.00.H62" in out and "17.9%" in out
    assert "000.00.00.H23" in out and "35.5%" in out


def test_a_bad_scenario_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    shipped = ROOT / "member_node" / "simulation" / "scenario.toml"
    text = shipped.read_text(encoding="utf-8").replace("documents = 700", "documents = 0")
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--scenario", str(bad)])
    assert result.exit_code == 2
    assert "traffic.documents" in result.output
