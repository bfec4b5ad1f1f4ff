"""The import contracts in pyproject.toml hold, and a forbidden import breaks them.

`lint-imports` runs on a copy of the packages, so a test can add an import
that points the wrong way and see the contract fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("signing", "registry", "hub", "member_node", "migrations", "lienthong", "apidocs")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The project's packages and pyproject.toml, copied."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_import(path: Path, statement: str) -> None:
    text = path.read_text()
    marker = "from __future__ import annotations\n"
    path.write_text(text.replace(marker, marker + statement + "\n", 1))


def test_the_project_keeps_its_contracts(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        (
            "registry/members.py",
            "import hub.db.models",
            "signing <- registry <- hub, with migrations and lienthong on top",
        ),
        (
            "signing/verify.py",
            "import registry.codes",
            "signing <- registry <- hub, with migrations and lienthong on top",
        ),
        (
            "member_node/client.py",
            "import hub.settings",
            "member_node uses only signing, apidocs and hub.protocol",
        ),
        (
            "member_node/examples.py",
            "import hub.api.examples",
            "member_node uses only signing, apidocs and hub.protocol",
        ),
        (
            "apidocs/recorded.py",
            "import hub.protocol",
            "signing <- registry <- hub, with migrations and lienthong on top",
        ),
        (
            "hub/delivery/outbox.py",
            "import hub.api.deps",
            "hub capabilities in layers, faces on top",
        ),
        ("hub/tracking/trace.py", "import hub.app", "hub capabilities in layers, faces on top"),
        ("hub/db/sql.py", "import hub.ingest.policy", "hub capabilities in layers, faces on top"),
    ],
)
def test_an_import_pointing_the_wrong_way_breaks_a_contract(
    tree: Path, module: str, statement: str, contract: str
) -> None:
    add_import(tree / module, statement)
    result = lint(tree)
    assert result.returncode != 0
    report = " ".join(result.stdout.split())  # long names wrap
    assert f"{contract} BROKEN" in report, result.stdout


def test_the_hub_keeps_its_capabilities_in_subpackages() -> None:
    """Only the wiring sits at the top of `hub/`; every capability has its own folder."""
    top = {path.name for path in (ROOT / "hub").glob("*.py")}
    assert top <= {
        "__init__.py",
        "app.py",
        "context.py",
        "settings.py",
        "identity.py",
        "protocol.py",
        "cli.py",
    }, top
    for package in (ROOT / "hub").iterdir():
        if package.is_dir() and any(package.glob("*.py")):
            init = package / "__init__.py"
            assert init.is_file(), f"{package.name} is not a package"
            text = init.read_text(encoding="utf-8")
            assert text.startswith('"""') and "__all__" in text, f"{init}: docstring and __all__"
