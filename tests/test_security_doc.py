"""SECURITY.md names the tests that prove each answer: every one it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_security_md_names_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    named = 0
    for cell in re.findall(r"`(tests/[^`]+)`", text):
        path, _, test = cell.partition("::")
        assert (ROOT / path).is_file(), f"SECURITY.md names {path}, which does not exist"
        source = (ROOT / path).read_text(encoding="utf-8")
        if test:
            assert re.search(rf"def {re.escape(test)}\(", source), f"no {test} in {path}"
            named += 1
    # `::name` after a file's first mention refers to the same file
    for row in re.findall(r"`(tests/[^`]+?\.py)::[^`]+`((?:, `::[^`]+`)+)", text):
        path, more = row
        source = (ROOT / path).read_text(encoding="utf-8")
        for test in re.findall(r"`::([^`]+)`", more):
            assert re.search(rf"def {re.escape(test)}\(", source), f"no {test} in {path}"
            named += 1
    assert named > 20
