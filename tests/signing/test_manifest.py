"""The manifest is RFC 8785: our fast canonicaliser agrees with the `rfc8785` library."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785

from signing.package import Package, canonical_json, manifest_bytes, new_package
from tests.signing.conftest import HEADER, RECIPIENT, SENDER

TRICKY = [
    "plain",
    "Quyết định số 274/QĐ-TTg — “trích yếu”",
    'quote " backslash \\ slash /',
    "controls \b\f\n\r\t \x00 \x01 \x1f \x7f",
    "emoji 😀 and 𝄞 and \ue000 private use",
    "",
]


@pytest.mark.parametrize("subject", TRICKY)
def test_manifest_matches_rfc8785(subject: str) -> None:
    header = {**HEADER, "subject": subject, "signer": {"name": subject}}
    pkg = new_package(SENDER, [RECIPIENT], header, [(subject or "x", "text/plain", b"abc")])
    data = json.loads(manifest_bytes(pkg))
    assert manifest_bytes(pkg) == bytes(rfc8785.dumps(data))
    assert "signatures" not in data and "content" not in data["attachments"][0]


def test_canonical_json_falls_back_to_rfc8785_outside_its_domain() -> None:
    value: Any = {"b": 1.5, "a": [3, None, True]}
    assert canonical_json(value) == bytes(rfc8785.dumps(value))
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"big": 2**60})


def test_optional_fields_left_out_stay_out(unsigned: Package) -> None:
    data = json.loads(manifest_bytes(unsigned))
    data["header"].pop("due_date")
    from signing.package import parse_package

    sparse = parse_package({**data, "attachments": [
        {**data["attachments"][0], "content": unsigned.attachments[0].content}
    ]})  # fmt: skip
    assert "due_date" not in json.loads(manifest_bytes(sparse))["header"]
