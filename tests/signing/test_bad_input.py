"""Malformed input yields a stable error code or the right violation, never an exception."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from signing.jose import b64url
from signing.package import MAX_PROTECTED_HEADER, PackageFormatError, package_json, parse_package
from signing.trust import TrustStore
from signing.verify import verify_json
from tests.signing.conftest import RECEIVED_AT, SignBoth


def _signed(sign_both: SignBoth) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(package_json(sign_both()))
    return data


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (b"\xff\xfe not json", "not_json"),
        (b"[1, 2]", "invalid_package"),
        (b'"a string"', "invalid_package"),
    ],
)
def test_not_a_package(source: bytes, code: str) -> None:
    with pytest.raises(PackageFormatError) as caught:
        parse_package(source)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d.update(recipients="000.00.00.G22"), "recipients"),
        (lambda d: d["header"].update(priority="0"), "header.priority"),
        (lambda d: d["attachments"][0].update(content="not base64!"), "attachments.0"),
        (lambda d: d.update(id="not-a-uuid"), "id"),
        (lambda d: d["signatures"][0].update(protected="a+b/"), "signatures.0.protected"),
        (lambda d: d["signatures"][0].update(extra="x"), "signatures.0.extra"),
        (
            lambda d: d["signatures"][0].update(protected="A" * (MAX_PROTECTED_HEADER + 1)),
            "signatures.0.protected",
        ),
    ],
    ids=[
        "unknown-field",
        "wrong-type",
        "string-int",
        "broken-base64",
        "id",
        "b64",
        "sig-field",
        "huge",
    ],
)
@pytest.mark.parametrize("as_bytes", [True, False], ids=["json", "dict"])
def test_schema_errors_name_the_field(
    sign_both: SignBoth, mutate: Any, field: str, as_bytes: bool
) -> None:
    data = _signed(sign_both)
    mutate(data)
    with pytest.raises(PackageFormatError) as caught:
        parse_package(json.dumps(data).encode() if as_bytes else data)
    assert caught.value.code == "invalid_package"
    assert any(f["field"].startswith(field) for f in caught.value.fields), caught.value.fields


@pytest.mark.parametrize("as_bytes", [True, False], ids=["json", "dict"])
def test_an_empty_recipient_list_has_its_own_code(sign_both: SignBoth, as_bytes: bool) -> None:
    data = _signed(sign_both)
    data.update(recipients=[], surprise=1)
    with pytest.raises(PackageFormatError) as caught:
        parse_package(json.dumps(data).encode() if as_bytes else data)
    assert caught.value.code == "no_recipients"
    assert caught.value.fields == [
        {"field": "recipients", "message": "at least one recipient is required"}
    ]


def _protected(header: dict[str, Any]) -> str:
    return b64url(json.dumps(header).encode())


def _with_header(sign_both: SignBoth, trust: TrustStore, change: Any) -> list[str]:
    data = _signed(sign_both)
    first = data["signatures"][0]
    header = json.loads(base64.urlsafe_b64decode(first["protected"] + "=="))
    first["protected"] = change(header)
    return verify_json(json.dumps(data), trust, received_at=RECEIVED_AT).violations


def test_protected_header_not_json(sign_both: SignBoth, trust: TrustStore) -> None:
    violations = _with_header(sign_both, trust, lambda h: b64url(b"{not json"))
    assert "BAD_SIGNATURE" in violations


def test_x5c_that_is_not_a_certificate(sign_both: SignBoth, trust: TrustStore) -> None:
    def change(h: dict[str, Any]) -> str:
        h["x5c"] = [base64.b64encode(b"hello").decode()]
        return _protected(h)

    violations = _with_header(sign_both, trust, change)
    assert {"BAD_SIGNATURE", "UNTRUSTED_CERTIFICATE"} <= set(violations)


def test_alg_none(sign_both: SignBoth, trust: TrustStore) -> None:
    def change(h: dict[str, Any]) -> str:
        h["alg"] = "none"
        return _protected(h)

    violations = _with_header(sign_both, trust, change)
    assert {"BAD_SIGNATURE", "WEAK_ALGORITHM"} <= set(violations)


def test_alg_none_with_empty_signature(sign_both: SignBoth, trust: TrustStore) -> None:
    data = _signed(sign_both)
    header = json.loads(base64.urlsafe_b64decode(data["signatures"][0]["protected"] + "=="))
    header["alg"] = "none"
    data["signatures"][0] = {"protected": _protected(header), "signature": ""}
    violations = verify_json(data, trust, received_at=RECEIVED_AT).violations
    assert {"BAD_SIGNATURE", "WEAK_ALGORITHM"} <= set(violations)


def test_unknown_crit_member_is_refused(sign_both: SignBoth, trust: TrustStore) -> None:
    def change(h: dict[str, Any]) -> str:
        h["crit"] = ["exp"]
        return _protected(h)

    assert "BAD_SIGNATURE" in _with_header(sign_both, trust, change)


def test_wrong_types_in_header(sign_both: SignBoth, trust: TrustStore) -> None:
    def change(h: dict[str, Any]) -> str:
        h.update(alg=5, kind=["personal"], sigT=12, x5c="abc")
        return _protected(h)

    violations = _with_header(sign_both, trust, change)
    assert {"BAD_SIGNATURE", "WEAK_ALGORITHM", "BAD_SIGNING_TIME"} <= set(violations)


def test_protected_header_that_is_not_utf8(sign_both: SignBoth, trust: TrustStore) -> None:
    assert "BAD_SIGNATURE" in _with_header(sign_both, trust, lambda h: b64url(b'{"alg":"\xff"}'))


def test_protected_header_that_is_a_json_list(sign_both: SignBoth, trust: TrustStore) -> None:
    assert "BAD_SIGNATURE" in _with_header(sign_both, trust, lambda h: b64url(b"[1]"))


@pytest.mark.parametrize(
    "extra",
    [10**30, float("nan"), float("inf"), "\ud800"],
    ids=["int-past-64-bits", "nan", "infinity", "lone-surrogate"],
)
def test_header_members_only_the_standard_json_reader_takes(
    sign_both: SignBoth, trust: TrustStore, extra: Any
) -> None:
    # Python's json writes these and reads them back; orjson refuses them, so
    # the verifier must fall back rather than call the header malformed.
    pkg = sign_both(header_overrides={"x-extra": extra})
    verdict = verify_json(package_json(pkg), trust, received_at=RECEIVED_AT)
    assert verdict.compliant, verdict.violations
