"""`lienthong demo --communes`: the national tree registered, documents reach communes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from registry.national_tree import national_tree

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_short_demo_on_the_national_tree_reaches_the_communes(tmp_path: Path) -> None:
    argv = ["demo", "--documents", "10", "--communes", "4", "--seed", "5"]
    result = subprocess.run(
        [sys.executable, "-m", "lienthong", *argv, "--data-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "98 nodes" in out  # the 94 units and the 4 communes
    registered = f"{len(national_tree()):,} members registered"
    assert f"== Communes (4 with a node; {registered}) ==" in out
    down = re.search(r"(\d+) of (\d+) deliveries reached a commune's node, (\d+) completed", out)
    assert down is not None, out[-2000:]
    reached, deliveries, completed = map(int, down.groups())
    assert reached == deliveries == 4 and completed == 4
    up = re.search(r"(\d+) of (\d+) reached the province's node, (\d+) completed", out)
    assert up is not None
    assert tuple(map(int, up.groups())) == (4, 4, 4)
