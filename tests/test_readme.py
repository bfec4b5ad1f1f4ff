"""The README is the operators' reference (every hub setting is there) and the newcomer's
first walk: its walkthrough runs as written, from `hub init` to a document completed."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", sorted(HubSettings.model_fields))
def test_every_hub_setting_is_in_the_readme(field: str) -> None:
    assert f"`LIENTHONG_{field.upper()}`" in README


def test_the_readme_opens_with_the_two_commands() -> None:
    opening = README[:400]
    assert "make demo" in opening
    assert "make test" in opening


WALKTHROUGH_MARK = "<!-- walkthrough -->"
AFTER_THE_WALKTHROUGH = """
# Not in the README: the member's other calls, on the walkthrough's network.
TOKEN=$(lienthong token --keys var/nodes/000.00.00.G22/keys)
curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/documents/$DOC \
    > var/seen-by-g22.json
lienthong status $DOC 02 --keys var/nodes/000.00.00.G22/keys && exit 90 \
    || echo "02 needs a reason: $?"
lienthong recall $DOC --keys var/nodes/000.00.00.H26/keys
lienthong trace $DOC --keys var/nodes/000.00.00.H26/keys --json > var/recalled.json
"""


def walkthrough_blocks(readme: str = README) -> list[str]:
    """The shell blocks the README marks as the walkthrough, in order."""
    pattern = re.compile(re.escape(WALKTHROUGH_MARK) + r"\s*```sh\n(.*?)```", re.S)
    return pattern.findall(readme)


def isolated_loopback() -> list[str] | None:
    """A prefix that runs a command in its own network namespace (so ports 8080 and 8100
    are free whatever else runs on this machine), or None where that is not possible."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    probe = subprocess.run(
        ["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30
    )
    return ["unshare", "-rn"] if probe.returncode == 0 else None


def ports_free(*ports: int) -> bool:
    for port in ports:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


def test_the_walkthrough_is_marked() -> None:
    blocks = walkthrough_blocks()
    assert len(blocks) >= 4
    script = "\n".join(blocks)
    for step in ("hub init", "hub serve", "node serve", "node send", "lienthong status", "trace"):
        assert step in script
    assert README.index("## Your first document, delivered") < README.index("## Layout")


@pytest.mark.slow
def test_the_walkthrough_runs_as_written_and_ends_delivered_and_completed(
    tmp_path: Path,
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the walkthrough waits for the servers with curl, which is not installed")
    prefix = isolated_loopback()
    if prefix is None and not ports_free(8080, 8100):
        pytest.skip("no network namespace here and ports 8080/8100 are taken")
    samples = tmp_path / "docs" / "samples"
    samples.mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "samples" / "qd274.pdf", samples)
    script = "\n".join(
        [
            "set -euo pipefail",
            "ip link set lo up" if prefix else "",
            *walkthrough_blocks(),
            AFTER_THE_WALKTHROUGH,
        ]
    )
    (tmp_path / "walkthrough.sh").write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    process = subprocess.Popen(
        [*(prefix or []), "bash", "walkthrough.sh"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the hub and the node the script left running
        process.wait()
    logs = "".join(
        f"\n--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
        for log in (tmp_path / "var").glob("*.log")
    )
    assert process.returncode == 0, output + logs
    document = re.search(r"^document ([0-9a-f-]{36})$", output, re.M)
    assert document is not None, output
    traces = output.split(f"document {document.group(1)} from 000.00.00.H26")
    assert len(traces) == 3, output  # the two `trace` commands
    assert "000.00.00.G22  delivered" in traces[1]
    final = traces[2]
    assert "verdict  compliant" in final
    assert "000.00.00.G22  completed  (delivered: 20" in final
    assert "01 arrived" in final and "06 completed" in final
    seen = json.loads((tmp_path / "var" / "seen-by-g22.json").read_text())
    assert seen["deliveries"][0]["state"] == "completed"
    assert "02 needs a reason: 2" in output
    recalled = json.loads((tmp_path / "var" / "recalled.json").read_text())
    assert recalled["recalled_at"] is not None
