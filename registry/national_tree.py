"""The whole national tree: the 94 units, each province's departments and districts, and
their communes, about 12,500 members in all.

Real lists of districts and communes change every year (and the 2025 mergers
rewrote them), so the tree below the 94 units is generated: deterministic for a
seed, with plausible Vietnamese names, and codes that follow QCVN 102 as the
parser in `signing.codes` reads them. A province ``000.00.00.H26`` gets its
departments (sở) as level-2 units ``000.00.01.H26`` … ``000.00.18.H26``, then
its districts (huyện, and one city, thành phố) as the next level-2 numbers;
each district's communes (xã, phường in a city) are its level-3 children
``000.01.19.H26`` …. Every generated unit is marked ``simulated``.
"""

from __future__ import annotations

import random
import unicodedata

from registry.codes import AgencyCode, validate_parent
from registry.national import NationalUnit, UnitKind, load_national_units

__all__ = [
    "COMMUNES_PER_DISTRICT",
    "DEFAULT_SEED",
    "DEPARTMENTS",
    "DISTRICTS_PER_PROVINCE",
    "national_tree",
]

DEFAULT_SEED = 2019

DEPARTMENTS: tuple[str, ...] = (
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Kế hoạch và Đầu tư",
    "Sở Tài chính",
    "Sở Công Thương",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Giao thông vận tải",
    "Sở Xây dựng",
    "Sở Tài nguyên và Môi trường",
    "Sở Thông tin và Truyền thông",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Thanh tra",
    "Văn phòng Ủy ban nhân dân",
    "Ban Dân tộc",
)
"""A province's departments, in the order of their level-2 numbers (01-18)."""

DISTRICTS_PER_PROVINCE = (7, 14)
"""The range of a province's districts (Hà Nội's 30 and Hồ Chí Minh's 22 aside)."""
COMMUNES_PER_DISTRICT = (8, 21)
"""The range of a district's communes: about 14 on average, near the 2019 count."""
_LARGE_PROVINCES = {"000.00.00.H26": 30, "000.00.00.H29": 22}

# Syllables of place names; two make a name ("Phú Lương", "Yên Ninh").
_FIRST = [
    "An",
    "Bình",
    "Cẩm",
    "Diên",
    "Đại",
    "Đông",
    "Gia",
    "Hòa",
    "Hoàng",
    "Hưng",
    "Kim",
    "Lạc",
    "Long",
    "Minh",
    "Nam",
    "Nghĩa",
    "Ngọc",
    "Phú",
    "Phúc",
    "Quảng",
    "Quế",
    "Tân",
    "Thạch",
    "Thanh",
    "Thái",
    "Thuận",
    "Tiên",
    "Trung",
    "Vĩnh",
    "Xuân",
    "Yên",
    "Hải",
    "Đức",
    "Hồng",
    "Lâm",
    "Mỹ",
    "Sơn",
    "Thọ",
    "Văn",
    "Việt",
    "Bảo",
    "Cát",
    "Châu",
]
_SECOND = [
    "An",
    "Bình",
    "Châu",
    "Đông",
    "Giang",
    "Hà",
    "Hải",
    "Hòa",
    "Hưng",
    "Khánh",
    "Lạc",
    "Lâm",
    "Lộc",
    "Lợi",
    "Lương",
    "Minh",
    "Mỹ",
    "Ninh",
    "Phong",
    "Phú",
    "Phước",
    "Quang",
    "Sơn",
    "Tây",
    "Thành",
    "Thịnh",
    "Thủy",
    "Tiến",
    "Trạch",
    "Trung",
    "Tường",
    "Vinh",
    "Xá",
    "Yên",
    "Điền",
    "Đạt",
    "Hiệp",
    "Hội",
    "Long",
    "Nghĩa",
    "Thuận",
]


def national_tree(seed: int = DEFAULT_SEED) -> list[NationalUnit]:
    """The 94 national units and the generated tree under the provinces, parents first.

    The same seed gives the same tree, unit for unit.
    """
    rng = random.Random(seed)
    top = load_national_units()
    units: list[NationalUnit] = list(top)
    level2: list[NationalUnit] = []
    level3: list[NationalUnit] = []
    for province in top:
        if province.kind == "province":
            _province_subtree(province, rng, level2, level3)
    return units + sorted(level2, key=_code) + sorted(level3, key=_code)


def _code(unit: NationalUnit) -> str:
    return unit.code


def _province_subtree(
    province: NationalUnit,
    rng: random.Random,
    level2: list[NationalUnit],
    level3: list[NationalUnit],
) -> None:
    root = province.agency_code
    place = province.name.removeprefix("Ủy ban nhân dân ")
    for number, name in enumerate(DEPARTMENTS, start=1):
        level2.append(_unit(root.child(number), f"{name} {place}", "department"))
    districts = _LARGE_PROVINCES.get(province.code) or rng.randint(*DISTRICTS_PER_PROVINCE)
    names = _place_names(rng, districts)
    for index, district_name in enumerate(names):
        code = root.child(len(DEPARTMENTS) + 1 + index)
        city = index == 0
        title = "thành phố" if city else "huyện"
        level2.append(_unit(code, f"Ủy ban nhân dân {title} {district_name}", "district"))
        communes = rng.randint(*COMMUNES_PER_DISTRICT)
        for number, commune_name in enumerate(_place_names(rng, communes), start=1):
            level = "phường" if city else "xã"
            level3.append(
                _unit(code.child(number), f"Ủy ban nhân dân {level} {commune_name}", "commune")
            )


def _place_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct two-syllable names."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        first, second = rng.choice(_FIRST), rng.choice(_SECOND)
        name = f"{first} {second}"
        if first != second and name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _unit(code: AgencyCode, name: str, kind: UnitKind) -> NationalUnit:
    parent = code.parent()
    text, parent_text = str(code), None if parent is None else str(parent)
    validate_parent(text, parent_text)
    return NationalUnit(
        code=text,
        name=unicodedata.normalize("NFC", name),
        kind=kind,
        parent=parent_text,
        simulated=True,
    )
