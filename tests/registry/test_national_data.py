"""The shipped national dataset: 94 valid, unique units, and its validation."""

from __future__ import annotations

import copy
import json
import unicodedata
from collections import Counter
from importlib import resources
from typing import Any

import pytest

from registry.codes import AgencyCode
from registry.national import (
    UNIT_KINDS,
    InvalidNationalData,
    NationalUnit,
    load_national_dataset,
    load_national_units,
    parse_national_dataset,
)

# Letters that only appear in Vietnamese, so a name holding one was not ASCII-folded.
VIETNAMESE_LETTERS = set("ăâđêôơưĂÂĐÊÔƠƯ") | {
    c for c in "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
}


@pytest.fixture(scope="module")
def units() -> list[NationalUnit]:
    return load_national_units()


def by_code(units: list[NationalUnit]) -> dict[str, NationalUnit]:
    return {unit.code: unit for unit in units}


def test_there_are_94_units_with_unique_valid_codes(units: list[NationalUnit]) -> None:
    assert len(units) == 94
    assert len({unit.code for unit in units}) == 94
    assert len({unit.name for unit in units}) == 94
    for unit in units:
        parsed = AgencyCode.parse(unit.code)
        assert str(parsed) == unit.code
        assert parsed.is_root
        assert unit.parent is None
        assert unit.kind in UNIT_KINDS


def test_63_provinces_are_provincial_peoples_committees(units: list[NationalUnit]) -> None:
    provinces = [unit for unit in units if unit.kind == "province"]
    assert len(provinces) == 63
    assert {unit.agency_code.group for unit in provinces} == {"H"}
    assert all(unit.name.startswith("Ủy ban nhân dân ") for unit in provinces)
    cities = [unit for unit in provinces if "thành phố" in unit.name]
    assert len(cities) == 5  # Hà Nội, Hồ Chí Minh, Hải Phòng, Đà Nẵng, Cần Thơ


def test_the_central_units_are_ministries_and_agencies(units: list[NationalUnit]) -> None:
    kinds = Counter(unit.kind for unit in units if unit.kind != "province")
    assert kinds == {"ministry": 18, "ministerial_agency": 4, "government_agency": 9}
    assert all(unit.agency_code.group == "G" for unit in units if unit.kind != "province")


def test_known_units_have_their_real_codes(units: list[NationalUnit]) -> None:
    codes = by_code(units)
    assert codes["000.00.00.G22"].name == "Văn phòng Chính phủ"
    assert codes["000.00.00.G22"].name_en == "Government Office"
    assert codes["000.00.00.G22"].simulated is False
    assert codes["000.00.00.H49"].name == "Ủy ban nhân dân tỉnh Quảng Ninh"
    assert codes["000.00.00.H49"].simulated is False
    assert codes["000.00.00.H29"].name == "Ủy ban nhân dân thành phố Hồ Chí Minh"


def test_the_provinces_the_design_measures_are_present(units: list[NationalUnit]) -> None:
    names = {unit.name: unit for unit in units}
    assert "Ủy ban nhân dân tỉnh Vĩnh Phúc" in names
    assert "Ủy ban nhân dân tỉnh Hải Dương" in names
    # The design's example codes name a unit and its department.
    assert by_code(units)["000.00.00.H26"].kind == "province"


def test_simulated_flags_are_a_minority_and_explained(units: list[NationalUnit]) -> None:
    dataset = load_national_dataset()
    assert dataset.as_of == "2019"
    real = [unit for unit in units if not unit.simulated]
    assert 20 < len(real) < 94
    assert "simulated" in dataset.source


def test_names_are_nfc_vietnamese(units: list[NationalUnit]) -> None:
    for unit in units:
        assert unicodedata.is_normalized("NFC", unit.name), unit.name
        assert unit.name == unit.name.strip()
        assert "  " not in unit.name
    vietnamese = [unit for unit in units if set(unit.name) & VIETNAMESE_LETTERS]
    assert len(vietnamese) == len(units)  # every name carries its diacritics


# --- validation of the file format, through parse_national_dataset ---------------


def shipped_document() -> dict[str, Any]:
    text = resources.files("registry.data").joinpath("national_units.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def with_unit(change: dict[str, Any], index: int = 0) -> dict[str, Any]:
    document = copy.deepcopy(shipped_document())
    document["units"][index].update(change)
    return document


def test_the_shipped_document_parses() -> None:
    assert len(parse_national_dataset(shipped_document()).units) == 94


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"as_of": "2019", "units": []}, "'source'"),
        ({"source": "x", "as_of": "2019", "units": []}, "non-empty list"),
        (with_unit({"code": "000.00.00.g22"}), "uppercase"),
        (with_unit({"code": "001.00.00.G01"}), "level 4 is set"),
        (with_unit({"code": "000.00.05.G01"}), "its parent is 000.00.00.G01"),
        (with_unit({"parent": "000.00.00.G22"}), "level-1 unit has no parent"),
        (with_unit({"kind": "bộ"}), "'kind' must be one of"),
        (with_unit({"name": ""}), "'name'"),
        (with_unit({"name": unicodedata.normalize("NFD", "Bộ Công an")}), "NFC"),
        (with_unit({"simulated": "no"}), "'simulated'"),
        (with_unit({"name_en": 5}), "'name_en'"),
        (with_unit({"province": "x"}), "unknown fields"),
        (with_unit({"code": "000.00.00.G02"}), "duplicate code 000.00.00.G02"),
        (with_unit({"name": "Bộ Công Thương"}), "duplicate name"),
    ],
)
def test_malformed_data_is_refused(document: object, message: str) -> None:
    with pytest.raises(InvalidNationalData, match=message.replace(".", r"\.")):
        parse_national_dataset(document)


def test_a_child_must_follow_its_parent() -> None:
    document = shipped_document()
    child = {
        "code": "000.00.12.H26",
        "name": "Sở Thông tin và Truyền thông",
        "kind": "department",
        "parent": "000.00.00.H26",
        "simulated": True,
    }
    document["units"].append(child)
    assert parse_national_dataset(document).units[-1].parent == "000.00.00.H26"
    document["units"].insert(0, document["units"].pop())
    with pytest.raises(InvalidNationalData, match="not listed before it"):
        parse_national_dataset(document)
