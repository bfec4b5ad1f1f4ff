"""QCVN 102:2016 agency codes: parsing, levels, hierarchy."""

from __future__ import annotations

import pytest

from registry.codes import (
    AgencyCode,
    InvalidAgencyCode,
    ParentMismatch,
    is_valid,
    validate_parent,
)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("000.00.00.G22", 1),  # the Government Office
        ("000.00.00.H49", 1),  # Quảng Ninh People's Committee
        ("000.00.00.K26", 1),  # a provincial People's Council
        ("000.00.00.A01", 1),  # any uppercase letter is accepted at level 1
        ("000.00.12.H26", 2),  # a department or district
        ("000.05.12.H26", 3),  # a commune or unit under a department
        ("007.05.12.H26", 4),
        ("999.99.99.Z99", 4),
    ],
)
def test_valid_codes_parse_round_trip(text: str, level: int) -> None:
    code = AgencyCode.parse(text)
    assert str(code) == text
    assert code.level == level
    assert code.is_root is (level == 1)
    assert is_valid(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "13 characters"),
        ("000.00.00.G2", "13 characters"),
        ("000.00.00.G222", "13 characters"),
        ("0000.0.00.G22", "dot-separated"),
        ("000-00-00-G22", "dot-separated"),
        ("000.00.00G.22", "dot-separated"),
        ("000.00.00.g22", "uppercase"),
        ("000.00.00.122", "letter"),
        ("000.00.00.Đ22", "letter"),
        ("000.0a.00.G22", "digits"),
        ("000.00.00.GAB", "digits"),
        ("000.00.00.G٢٢", "digits"),  # Arabic-Indic digits are not ASCII
        (" 000.00.00.G2", "whitespace"),
        ("000.00.00.G22\n", "whitespace"),
        ("000.00.00.G00", "00"),
        ("001.00.00.G22", "level 4 is set while level 3 is zero"),
        ("001.00.12.G22", "level 4 is set while level 3 is zero"),
        ("000.01.00.H26", "level 3 is set while level 2 is zero"),
    ],
)
def test_malformed_codes_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidAgencyCode) as caught:
        AgencyCode.parse(text)
    assert reason in caught.value.reason
    assert caught.value.text == text
    assert caught.value.code == "INVALID_AGENCY_CODE"
    assert not is_valid(text)


@pytest.mark.parametrize("value", [None, 22, b"000.00.00.G22"])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(InvalidAgencyCode, match="must be a string"):
        AgencyCode.parse(value)  # type: ignore[arg-type]


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(InvalidAgencyCode):
        AgencyCode("001", "00", "00", "G22")
    with pytest.raises(InvalidAgencyCode):
        AgencyCode("0", "0", "0", "G22")


def test_parent_zeroes_the_deepest_level() -> None:
    code = AgencyCode.parse("007.05.12.H26")
    chain = [str(c) for c in code.ancestors()]
    assert chain == ["000.05.12.H26", "000.00.12.H26", "000.00.00.H26"]
    assert str(code.parent()) == "000.05.12.H26"
    assert AgencyCode.parse("000.00.00.H26").parent() is None
    assert str(code.root()) == "000.00.00.H26"
    assert AgencyCode.parse("000.00.00.G22").root() == AgencyCode.parse("000.00.00.G22")


def test_ancestry() -> None:
    province = AgencyCode.parse("000.00.00.H26")
    department = AgencyCode.parse("000.00.12.H26")
    commune = AgencyCode.parse("000.03.12.H26")
    other_department = AgencyCode.parse("000.00.13.H26")
    other_province = AgencyCode.parse("000.00.12.H49")

    assert province.is_ancestor_of(department)
    assert province.is_ancestor_of(commune)
    assert department.is_ancestor_of(commune)
    assert not department.is_ancestor_of(department)
    assert not commune.is_ancestor_of(department)
    assert not other_department.is_ancestor_of(commune)
    assert not province.is_ancestor_of(other_province)


def test_child_fills_the_next_level() -> None:
    province = AgencyCode.parse("000.00.00.H26")
    assert str(province.child(12)) == "000.00.12.H26"
    assert str(province.child(12).child(3)) == "000.03.12.H26"
    assert str(province.child(12).child(3).child(250)) == "250.03.12.H26"
    assert province.child(12).parent() == province
    with pytest.raises(InvalidAgencyCode, match="level-4"):
        AgencyCode.parse("250.03.12.H26").child(1)
    with pytest.raises(InvalidAgencyCode, match=r"1\.\.99"):
        province.child(100)
    with pytest.raises(InvalidAgencyCode, match=r"1\.\.99"):
        province.child(0)


def test_codes_are_values() -> None:
    assert AgencyCode.parse("000.00.12.H26") == AgencyCode.parse("000.00.12.H26")
    assert len({AgencyCode.parse("000.00.00.G22"), AgencyCode.parse("000.00.00.G22")}) == 1
    assert AgencyCode.parse("000.00.00.H26").group == "H"
    codes = ["000.00.12.H26", "000.00.00.G22", "000.00.00.H26"]
    assert [str(c) for c in sorted(AgencyCode.parse(t) for t in codes)] == sorted(codes)


def test_validate_parent() -> None:
    parsed = validate_parent("000.00.12.H26", "000.00.00.H26")
    assert parsed == AgencyCode.parse("000.00.12.H26")
    assert validate_parent("000.00.00.H26", None) == AgencyCode.parse("000.00.00.H26")
    validate_parent(AgencyCode.parse("000.03.12.H26"), AgencyCode.parse("000.00.12.H26"))


@pytest.mark.parametrize(
    ("code", "parent", "reason"),
    [
        ("000.00.12.H26", "000.00.00.H49", "its parent is 000.00.00.H26"),
        ("000.03.12.H26", "000.00.00.H26", "its parent is 000.00.12.H26"),
        ("000.00.12.H26", None, "its parent is 000.00.00.H26"),
        ("000.00.00.H26", "000.00.00.G22", "level-1 unit has no parent"),
    ],
)
def test_wrong_parent_is_refused(code: str, parent: str | None, reason: str) -> None:
    with pytest.raises(ParentMismatch) as caught:
        validate_parent(code, parent)
    assert reason in caught.value.reason
    assert caught.value.code == "PARENT_MISMATCH"


def test_validate_parent_refuses_malformed_input() -> None:
    with pytest.raises(InvalidAgencyCode):
        validate_parent("000.00.12.h26", "000.00.00.H26")
    with pytest.raises(InvalidAgencyCode):
        validate_parent("000.00.12.H26", "00.00.00.H26")


def _near_codes() -> list[str]:
    """Codes and near-codes: every mix of zero/non-zero levels, then random one-character edits."""
    import itertools
    import random

    parts4 = ["000", "001", "010", "100", "999", "00", "0000", "0a1"]
    parts2 = ["00", "01", "10", "99", "0", "000", "a1"]
    level1 = ["G22", "H00", "A01", "Z99", "g22", "G2", "G220", "122", "Đ22"]
    texts = [f"{a}.{b}.{c}.{d}" for a, b, c, d in itertools.product(parts4, parts2, parts2, level1)]
    rng = random.Random(102)
    alphabet = "0123456789.GHZa \n-٣"
    for base in ["000.00.00.G22", "000.00.12.H26", "000.05.12.H26", "007.05.12.H26"]:
        for _ in range(400):
            chars = list(base)
            position = rng.randrange(len(chars) + 1)
            edit = rng.choice(["replace", "insert", "delete"])
            if edit == "replace" and position < len(chars):
                chars[position] = rng.choice(alphabet)
            elif edit == "insert":
                chars.insert(position, rng.choice(alphabet))
            elif position < len(chars):
                del chars[position]
            texts.append("".join(chars))
    return texts


def test_the_schema_pattern_accepts_exactly_what_the_parser_accepts() -> None:
    import re

    from registry.codes import AGENCY_CODE_PATTERN

    # fullmatch: JSON Schema's (ECMA) `$` is the end of the text, not a final newline's place
    pattern = re.compile(AGENCY_CODE_PATTERN)
    texts = _near_codes()
    disagreements = [
        text for text in texts if (pattern.fullmatch(text) is not None) != is_valid(text)
    ]
    assert not disagreements
    assert sum(is_valid(text) for text in texts) > 100  # both sides are well represented


def test_the_schema_pattern_is_within_the_package_schema_pattern() -> None:
    """Every code the registry accepts is one a package may name (signing's looser shape)."""
    import re

    from registry.codes import AGENCY_CODE_PATTERN
    from signing.package import AGENCY_CODE_PATTERN as PACKAGE_PATTERN

    strict = re.compile(AGENCY_CODE_PATTERN)
    for text in _near_codes():
        if strict.fullmatch(text):
            assert re.search(PACKAGE_PATTERN, text), text
