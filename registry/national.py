"""The national dataset: the 94 units connected to the national document axis in 2019.

The data ships inside the package (``registry/data/national_units.json``) so
that ``lienthong registry load-national`` needs no network. Every record is
checked on load, codes with :mod:`registry.codes`, so a bad edit to the file
fails loudly instead of seeding a registry with a malformed agency.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import cast, get_args

from registry.codes import AgencyCode, InvalidAgencyCode, validate_parent
from registry.models import MemberKind

__all__ = [
    "UNIT_KINDS",
    "InvalidNationalData",
    "NationalDataset",
    "NationalUnit",
    "UnitKind",
    "load_national_dataset",
    "load_national_units",
    "parse_national_dataset",
]

UnitKind = MemberKind
UNIT_KINDS: tuple[str, ...] = get_args(UnitKind)

_RESOURCE_PACKAGE = "registry.data"
_RESOURCE_NAME = "national_units.json"
_FIELDS = {"code", "name", "name_en", "kind", "parent", "simulated"}


class InvalidNationalData(ValueError):
    """The national dataset file is malformed; the message says where."""


@dataclass(frozen=True)
class NationalUnit:
    """One unit of the national axis.

    ``code`` and ``parent`` are canonical QCVN 102 code strings, already
    validated. ``simulated`` is true when the code has the right format but is
    not known to be the one used in production.
    """

    code: str
    name: str
    kind: UnitKind
    parent: str | None = None
    name_en: str | None = None
    simulated: bool = False

    @property
    def agency_code(self) -> AgencyCode:
        """The parsed form of :attr:`code`."""
        return AgencyCode.parse(self.code)


@dataclass(frozen=True)
class NationalDataset:
    """The units together with the file's own account of where they come from."""

    source: str
    as_of: str
    units: tuple[NationalUnit, ...]


def load_national_dataset() -> NationalDataset:
    """Read and validate the dataset shipped in the package."""
    resource = resources.files(_RESOURCE_PACKAGE).joinpath(_RESOURCE_NAME)
    try:
        document = json.loads(resource.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidNationalData(f"{_RESOURCE_NAME} is not valid JSON: {exc}") from exc
    return parse_national_dataset(document)


def load_national_units() -> list[NationalUnit]:
    """The 94 national units, in file order (ministries and agencies, then provinces)."""
    return list(load_national_dataset().units)


def parse_national_dataset(document: object) -> NationalDataset:
    """Validate a decoded dataset document; raise :class:`InvalidNationalData`."""
    if not isinstance(document, Mapping):
        raise InvalidNationalData("the dataset must be a JSON object")
    source = _text(document, "source", "dataset")
    as_of = _text(document, "as_of", "dataset")
    records = document.get("units")
    if not isinstance(records, list) or not records:
        raise InvalidNationalData("dataset: 'units' must be a non-empty list")

    units = tuple(_parse_unit(index, record) for index, record in enumerate(records))
    _check_set(units)
    return NationalDataset(source=source, as_of=as_of, units=units)


def _parse_unit(index: int, record: object) -> NationalUnit:
    where = f"units[{index}]"
    if not isinstance(record, Mapping):
        raise InvalidNationalData(f"{where}: must be an object")
    unknown = set(record) - _FIELDS
    if unknown:
        raise InvalidNationalData(f"{where}: unknown fields {sorted(unknown)}")

    code = _text(record, "code", where)
    where = f"{where} ({code})"
    name = _text(record, "name", where)
    if unicodedata.normalize("NFC", name) != name:
        raise InvalidNationalData(f"{where}: name is not in Unicode NFC form")
    name_en = record.get("name_en")
    if name_en is not None and (not isinstance(name_en, str) or not name_en.strip()):
        raise InvalidNationalData(f"{where}: 'name_en' must be a non-empty string or null")
    kind = record.get("kind")
    if kind not in UNIT_KINDS:
        raise InvalidNationalData(f"{where}: 'kind' must be one of {', '.join(UNIT_KINDS)}")
    parent = record.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise InvalidNationalData(f"{where}: 'parent' must be a code string or null")
    simulated = record.get("simulated", False)
    if not isinstance(simulated, bool):
        raise InvalidNationalData(f"{where}: 'simulated' must be true or false")

    try:
        validate_parent(code, parent)
    except InvalidAgencyCode as exc:
        raise InvalidNationalData(f"{where}: {exc}") from exc

    return NationalUnit(
        code=code,
        name=name,
        kind=cast(UnitKind, kind),
        parent=parent,
        name_en=name_en,
        simulated=simulated,
    )


def _text(record: Mapping[str, object], field: str, where: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidNationalData(f"{where}: {field!r} must be a non-empty string")
    return value


def _check_set(units: tuple[NationalUnit, ...]) -> None:
    """Codes and names are unique, and every parent is a unit listed before its child."""
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    for unit in units:
        if unit.code in seen_codes:
            raise InvalidNationalData(f"duplicate code {unit.code}")
        if unit.name in seen_names:
            raise InvalidNationalData(f"duplicate name {unit.name!r}")
        if unit.parent is not None and unit.parent not in seen_codes:
            raise InvalidNationalData(f"{unit.code}: parent {unit.parent} is not listed before it")
        seen_codes.add(unit.code)
        seen_names.add(unit.name)
