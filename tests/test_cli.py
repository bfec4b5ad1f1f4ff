"""The one console script: fast help, clear refusals, defaults that agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import typer
from typer.testing import CliRunner

from lienthong.cli import app

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("fastapi", "sqlalchemy", "uvicorn", "alembic", "asyncpg", "httpx", "lxml", "signxml")

WALK_EVERY_HELP = """
import json, sys
import typer
from lienthong.cli import app

def paths(command, prefix):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from paths(sub, [*prefix, name])

seen = []
for path in list(paths(typer.main.get_command(app), [])):
    sys.argv = ["lienthong", *path, "--help"]
    try:
        app()
    except SystemExit as exit:
        assert exit.code in (0, None), (path, exit.code)
    seen.append(" ".join(path))
print(json.dumps({"helps": seen, "modules": sorted(sys.modules)}))
"""


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lienthong", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=120,
    )


def test_no_help_loads_the_server_stack() -> None:
    """Every `--help`, the root's first, imports neither the web framework nor the database."""
    done = subprocess.run(
        [sys.executable, "-c", WALK_EVERY_HELP],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert "" in result["helps"] and "hub init" in result["helps"]
    assert len(result["helps"]) > 40
    loaded = {name.split(".")[0] for name in result["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LIENTHONG_PUSH_MAX_ATTEMPTS", "abc", "LIENTHONG_PUSH_MAX_ATTEMPTS='abc'"),
        ("LIENTHONG_DATABASE_URL", "mysql://root:hunter2@db/hub", "'mysql' is not a supported"),
        ("LIENTHONG_LOG_JSON", "perhaps", "LIENTHONG_LOG_JSON='perhaps'"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    variable: str, value: str, expected: str, tmp_path: Path
) -> None:
    done = run_cli("hub", "migrate", env={variable: value, "LIENTHONG_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: bad setting ") and expected in lines[0]
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


@pytest.mark.parametrize(
    "command", [["registry", "list"], ["hub", "migrate"], ["operator", "list"]]
)
def test_an_unreachable_database_is_one_line_and_exit_1(command: list[str], tmp_path: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"  # port 1: refused at once
    done = run_cli(
        *command, env={"LIENTHONG_DATABASE_URL": url, "LIENTHONG_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode in (1, 2)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr


def test_pki_issue_refuses_an_invalid_agency_code(tmp_path: Path) -> None:
    runner = CliRunner()
    ca = tmp_path / "ca"
    created = runner.invoke(app, ["pki", "init-ca", "--dir", str(ca)])
    assert created.exit_code == 0, created.output
    assert (ca / "crl.pem").read_bytes().startswith(b"-----BEGIN X509 CRL-----")
    base = ["pki", "issue", "--dir", str(ca), "--kind", "organization", "--name", "UBND"]
    bad = runner.invoke(app, [*base, "--code", "H26", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "'H26' is not an agency code" in bad.output
    assert not (tmp_path / "x.key").exists()
    out = tmp_path / "deep" / "keys" / "org"
    good = runner.invoke(app, [*base, "--code", "000.00.00.H26", "--out", str(out)])
    assert good.exit_code == 0, good.output
    assert out.with_suffix(".crt").exists()
    wrong_kind = runner.invoke(app, [*base[:4], "--kind", "person", "--code", "000.00.00.H26"])
    assert wrong_kind.exit_code == 2


@pytest.mark.parametrize(
    ("command", "values"),
    [
        (["registry", "add"], ["party_body", "commune", "push|pull", "require_compliant"]),
        (["registry", "list"], ["province", "active|suspended|revoked"]),
        (["operator", "create"], ["admin|auditor"]),
        (["pki", "issue"], ["organization|official|hub", "rsa2048"]),
        (["pki", "revoke"], ["key_compromise"]),
        (["node", "serve"], ["push (the hub calls us) | pull", "agree (15) | refuse (16)"]),
        (["status"], ["01", "06", "16"]),
    ],
)
def test_help_lists_the_allowed_values(command: list[str], values: list[str]) -> None:
    shown = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    for value in values:
        assert value in shown.output


def test_the_cli_choices_are_the_libraries() -> None:
    """The command line lists choices without importing the libraries; they must agree."""
    from hub.reports import cli as report_cli
    from hub.reports.filters import Grouping
    from signing import cli as signing_cli
    from signing.edxml import cli as edxml_cli
    from signing.edxml.write import LAYOUTS
    from signing.keys import KEY_TYPES
    from signing.pki import ISSUE_KINDS, REVOCATION_REASONS

    assert get_args(signing_cli.IssueKind) == ISSUE_KINDS
    assert set(get_args(signing_cli.KeyTypeChoice)) <= set(KEY_TYPES)
    assert list(get_args(signing_cli.RevocationReason)) == list(REVOCATION_REASONS)
    assert edxml_cli.LAYOUTS == LAYOUTS
    assert [g.value for g in report_cli.Group] == [g.value for g in Grouping]


def test_node_and_hub_defaults_agree() -> None:
    """`lienthong node …` with no `--hub` finds a `lienthong hub serve` started with no `--port`."""
    from hub import cli as hub_cli
    from hub.settings import HubSettings
    from member_node.defaults import DEFAULT_HUB_ID, DEFAULT_HUB_URL

    serve = typer.main.get_command(hub_cli.hub_app).commands["serve"]  # type: ignore[attr-defined]
    port = next(p.default for p in serve.params if p.name == "port")
    assert f"http://127.0.0.1:{port}" == DEFAULT_HUB_URL
    assert HubSettings.model_fields["hub_id"].default == DEFAULT_HUB_ID
