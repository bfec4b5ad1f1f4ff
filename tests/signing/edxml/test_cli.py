"""`lienthong edxml convert` and `lienthong edxml sign` through the console app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lienthong.cli import app
from signing.edxml import read_edxml
from signing.package import Package, package_json, parse_package
from signing.pki import IssuedCertificate
from signing.trust import TrustStore
from tests.signing.conftest import RECEIVED_AT, SENDER
from tests.signing.edxml.conftest import needs_xmlsec1, xmlsec1_verify

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["edxml", *args])
    return result.exit_code, result.output


def test_convert_both_ways(tmp_path: Path, unsigned: Package) -> None:
    source = tmp_path / "pkg.json"
    source.write_bytes(package_json(unsigned))
    code, output = _run("convert", "--in", str(source), "--out", str(tmp_path / "doc.xml"))
    assert code == 0, output
    assert (tmp_path / "doc.xml").read_bytes().startswith(b"<?xml")
    code, output = _run("convert", "--in", str(tmp_path / "doc.xml"), "--to", "json")
    assert code == 0, output
    back = parse_package(output.encode())
    assert back.model_dump(exclude={"signatures"}) == unsigned.model_dump(exclude={"signatures"})


def test_sign_then_read(
    tmp_path: Path, unsigned: Package, org: IssuedCertificate, trust: TrustStore
) -> None:
    org.save(tmp_path / "org")
    source = tmp_path / "pkg.json"
    source.write_bytes(package_json(unsigned))
    out = tmp_path / "signed.xml"
    code, output = _run(
        "sign", "--in", str(source), "--key", str(tmp_path / "org.key"),
        "--cert", str(tmp_path / "org.crt"), "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    (facts,) = read_edxml(out.read_bytes(), trust, received_at=RECEIVED_AT).facts
    assert facts.signature_valid and facts.agency_code == SENDER


@needs_xmlsec1
def test_signed_by_the_cli_verifies_with_xmlsec1(
    tmp_path: Path, unsigned: Package, org: IssuedCertificate, root_pem: Path
) -> None:
    org.save(tmp_path / "org")
    (tmp_path / "pkg.json").write_bytes(package_json(unsigned))
    xml = tmp_path / "doc.xml"
    assert _run("convert", "--in", str(tmp_path / "pkg.json"), "--out", str(xml))[0] == 0
    out = tmp_path / "signed.xml"
    code, output = _run(
        "sign", "--in", str(xml), "--key", str(tmp_path / "org.key"),
        "--cert", str(tmp_path / "org.crt"), "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert xmlsec1_verify(out, root_pem, "2025-03-12 10:00:00").returncode == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"<edXML><broken></edXML>", "edxml_not_well_formed"),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "edxml_entity"),
        (b'{"id": "nope"}', "invalid_package"),
        (b"not json, not xml", "not_json"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path: Path, content: bytes, expected: str) -> None:
    source = tmp_path / "in"
    source.write_bytes(content)
    code, output = _run("convert", "--in", str(source))
    assert code == 2
    assert expected in output and "Traceback" not in output


def test_missing_files_and_bad_options(tmp_path: Path, unsigned: Package) -> None:
    code, output = _run("convert", "--in", str(tmp_path / "absent.xml"))
    assert code == 2 and "cannot read" in output
    (tmp_path / "pkg.json").write_bytes(package_json(unsigned))
    assert _run("convert", "--in", str(tmp_path / "pkg.json"), "--to", "pdf")[0] == 2
    (tmp_path / "bad.key").write_text("not a key")
    code, output = _run(
        "sign", "--in", str(tmp_path / "pkg.json"), "--key", str(tmp_path / "bad.key"),
        "--cert", str(tmp_path / "bad.key"), "--out", str(tmp_path / "o.xml"),
    )  # fmt: skip
    assert code == 2 and "key or certificate" in output and "Traceback" not in output
    assert json.loads((tmp_path / "pkg.json").read_text())["sender"] == SENDER
