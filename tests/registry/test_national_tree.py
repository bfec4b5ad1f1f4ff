"""The generated national tree and `lienthong registry load-national --communes`."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from registry.cli import registry_app
from registry.codes import AGENCY_CODE_PATTERN, AgencyCode
from registry.national import load_national_units
from registry.national_tree import DEPARTMENTS, national_tree

runner = CliRunner()


def test_the_tree_is_the_94_units_and_about_12000_valid_members_under_the_provinces() -> None:
    units = national_tree()
    assert 11_000 <= len(units) <= 13_500
    assert [u.code for u in units[:94]] == [u.code for u in load_national_units()]
    kinds = Counter(u.kind for u in units)
    assert kinds["department"] == 63 * len(DEPARTMENTS)
    assert kinds["commune"] > 10 * kinds["district"] > 0
    pattern = re.compile(AGENCY_CODE_PATTERN)
    seen: set[str] = set()
    for unit in units:
        assert pattern.fullmatch(unit.code), unit.code
        code = AgencyCode.parse(unit.code)
        expected_parent = code.parent()
        assert unit.parent == (None if expected_parent is None else str(expected_parent))
        assert unit.parent is None or unit.parent in seen, f"{unit.code} before its parent"
        assert unit.code not in seen
        seen.add(unit.code)
        assert unicodedata.normalize("NFC", unit.name) == unit.name
        level = {"department": 2, "district": 2, "commune": 3}.get(unit.kind, 1)
        assert code.level == level, unit
        if level > 1:
            assert code.root().level1.startswith("H"), "the tree grows under provinces only"
            assert unit.simulated


def test_the_same_seed_gives_the_same_tree_and_another_seed_another() -> None:
    assert national_tree(7) == national_tree(7)
    assert national_tree(7) != national_tree(8)


def test_names_are_vietnamese_and_say_what_the_unit_is() -> None:
    units = {u.code: u for u in national_tree()}
    assert units["000.00.01.H49"].name == "Sở Nội vụ tỉnh Quảng Ninh"
    district = units["000.00.19.H49"]
    assert district.name.startswith("Ủy ban nhân dân thành phố ")
    commune = next(u for u in units.values() if u.parent == "000.00.20.H49")
    assert commune.name.startswith("Ủy ban nhân dân xã ")


def test_load_national_communes_is_idempotent_and_adds_to_the_94(
    database_url: str, tmp_path: Path
) -> None:
    env = {"LIENTHONG_DATABASE_URL": database_url, "LIENTHONG_DATA_DIR": str(tmp_path)}
    total = len(national_tree())
    first = runner.invoke(registry_app, ["load-national", "--json"], env=env)
    assert json.loads(first.output) == {"added": 94, "already_present": 0}
    tree = runner.invoke(registry_app, ["load-national", "--communes", "--json"], env=env)
    assert tree.exit_code == 0, tree.output
    assert json.loads(tree.output) == {"added": total - 94, "already_present": 94}
    again = runner.invoke(registry_app, ["load-national", "--communes", "--json"], env=env)
    assert json.loads(again.output) == {"added": 0, "already_present": total}

    listed = runner.invoke(registry_app, ["list", "--json", "--limit", "1"], env=env)
    assert json.loads(listed.output)["total"] == total
    communes = runner.invoke(registry_app, ["list", "--parent", "000.00.20.H49", "--json"], env=env)
    items = json.loads(communes.output)["items"]
    assert items and all(i["kind"] == "commune" and i["status"] == "active" for i in items)
    assert all(i["parent"] == "000.00.20.H49" and not i["certificates"] for i in items)
