"""Agency codes of QCVN 102:2016 (edXML): ``V1V2V3.Z1Z2.Y1Y2.MX1X2``.

A code names one agency and, through its zero-filled levels, its place in the
hierarchy. Read right to left:

- level 1, ``MX1X2``: an uppercase letter and two digits, the top-level unit
  (``G22`` the Government Office, ``H49`` Quảng Ninh's People's Committee);
- level 2, ``Y1Y2``: departments and districts of a level-1 unit;
- level 3, ``Z1Z2``: communes and units under a department;
- level 4, ``V1V2V3``: units below those.

Rules this module enforces, beyond the shape:

- A level may be non-zero only if every level above it (closer to level 1) is
  non-zero: ``001.00.00.G22`` is refused, because a level-4 unit cannot hang
  off a missing level-3 and level-2 unit.
- Level 1's digits are never ``00``: every code belongs to a real top unit.
- Level 1's letter is any uppercase ASCII letter A–Z. QCVN 102 and Decision
  20/2020/QĐ-TTg assign meanings to a handful of letters (``G`` ministries and
  government bodies, ``H`` provincial People's Committees, ``K`` provincial
  People's Councils, others for Party and elected bodies); we accept the whole
  alphabet rather than guess at a list that keeps changing, and name the
  letters we know in :data:`LEVEL1_GROUPS`.
- Nothing is normalised: lowercase letters, surrounding whitespace, non-ASCII
  digits or other separators are errors, so one agency has exactly one
  spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "AGENCY_CODE_PATTERN",
    "LEVEL1_GROUPS",
    "AgencyCode",
    "InvalidAgencyCode",
    "ParentMismatch",
    "is_valid",
    "validate_parent",
]

#: The level-1 letters whose meaning is known; any A–Z is accepted.
LEVEL1_GROUPS: dict[str, str] = {
    "G": "ministries, ministerial-level agencies and government bodies",
    "H": "provincial People's Committees",
    "K": "provincial People's Councils",
}

_SHAPE = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}", re.ASCII)


def _agency_code_pattern() -> str:
    """The rules of this module as one regular expression, for schemas (OpenAPI `pattern`).

    Written without look-arounds or flags so JSON Schema validators, pydantic's
    Rust engine and data generators read it alike: level 1 is a letter and a
    number 01-99; each lower level is either zero or non-zero with every level
    above it non-zero. `tests/registry/test_codes.py` checks it agrees with
    `AgencyCode.parse`.
    """
    nonzero2 = "(?:0[1-9]|[1-9][0-9])"
    nonzero3 = "(?:00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})"
    lower_levels = "|".join(
        [
            r"000\.00\.00",  # level 1
            rf"000\.00\.{nonzero2}",  # level 2
            rf"000\.{nonzero2}\.{nonzero2}",  # level 3
            rf"{nonzero3}\.{nonzero2}\.{nonzero2}",  # level 4
        ]
    )
    return rf"^(?:{lower_levels})\.[A-Z]{nonzero2}$"


AGENCY_CODE_PATTERN = _agency_code_pattern()
"""A full match is exactly a text :meth:`AgencyCode.parse` accepts."""
_LENGTH = len("000.00.00.G22")
_WIDTHS = (3, 2, 2)  # level 4, level 3, level 2


class InvalidAgencyCode(ValueError):
    """A text is not a well-formed QCVN 102:2016 agency code."""

    code = "INVALID_AGENCY_CODE"

    def __init__(self, text: object, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"invalid agency code {text!r}: {reason}")


class ParentMismatch(InvalidAgencyCode):
    """A code is well formed but the claimed parent is not its parent."""

    code = "PARENT_MISMATCH"


@dataclass(frozen=True, order=True)
class AgencyCode:
    """One parsed agency code; build it with :meth:`parse`.

    Fields are stored in reading order (level 4 first), so sorting codes sorts
    them as their text sorts.
    """

    level4: str
    level3: str
    level2: str
    level1: str

    def __post_init__(self) -> None:
        _check_parts(str(self), self.level4, self.level3, self.level2, self.level1)

    @classmethod
    def parse(cls, text: str | AgencyCode) -> AgencyCode:
        """Parse ``text`` strictly, raising :class:`InvalidAgencyCode` with a reason.

        An :class:`AgencyCode` is returned as is, so callers may pass either.
        """
        if isinstance(text, AgencyCode):
            return text
        if not isinstance(text, str):
            raise InvalidAgencyCode(text, f"must be a string, not {type(text).__name__}")
        _check_shape(text)
        level4, level3, level2, level1 = text.split(".")
        return cls(level4, level3, level2, level1)

    @property
    def group(self) -> str:
        """The level-1 letter: ``G``, ``H``, ``K``…"""
        return self.level1[0]

    @property
    def level(self) -> int:
        """The deepest non-zero level: 1 for a top unit, up to 4."""
        return 1 + sum(1 for part in (self.level2, self.level3, self.level4) if int(part))

    @property
    def is_root(self) -> bool:
        """Whether this is a top (level-1) unit such as a ministry or a province."""
        return self.level == 1

    def parent(self) -> AgencyCode | None:
        """The code with the deepest level zeroed; ``None`` for a level-1 unit."""
        if self.level == 4:
            return AgencyCode("000", self.level3, self.level2, self.level1)
        if self.level == 3:
            return AgencyCode("000", "00", self.level2, self.level1)
        if self.level == 2:
            return AgencyCode("000", "00", "00", self.level1)
        return None

    def root(self) -> AgencyCode:
        """The level-1 unit this code belongs to (itself for a level-1 unit)."""
        return AgencyCode("000", "00", "00", self.level1)

    def ancestors(self) -> list[AgencyCode]:
        """Every unit above this one, nearest first, ending with the root."""
        chain: list[AgencyCode] = []
        current = self.parent()
        while current is not None:
            chain.append(current)
            current = current.parent()
        return chain

    def is_ancestor_of(self, other: AgencyCode) -> bool:
        """Whether ``other`` sits strictly below this unit."""
        return self in other.ancestors()

    def child(self, number: int) -> AgencyCode:
        """The code of this unit's ``number``-th child at the next level down."""
        if self.level == 4:
            raise InvalidAgencyCode(str(self), "a level-4 unit cannot have children")
        width = _WIDTHS[3 - self.level]
        if not 1 <= number < 10**width:
            raise InvalidAgencyCode(
                str(self), f"child number must be 1..{10**width - 1}, got {number}"
            )
        part = f"{number:0{width}d}"
        if self.level == 1:
            return AgencyCode("000", "00", part, self.level1)
        if self.level == 2:
            return AgencyCode("000", part, self.level2, self.level1)
        return AgencyCode(part, self.level3, self.level2, self.level1)

    def __str__(self) -> str:
        return f"{self.level4}.{self.level3}.{self.level2}.{self.level1}"


def is_valid(text: str) -> bool:
    """Whether ``text`` parses as an agency code."""
    try:
        AgencyCode.parse(text)
    except InvalidAgencyCode:
        return False
    return True


def validate_parent(code: str | AgencyCode, parent: str | AgencyCode | None) -> AgencyCode:
    """Check that ``parent`` is the direct parent of ``code``; return the parsed code.

    The parent is implied by the code itself: ``000.00.12.H26``'s parent is
    ``000.00.00.H26``, so a registry cannot hang a unit under a stranger. A
    level-1 code must have no parent. Raises :class:`InvalidAgencyCode` for a
    malformed code and :class:`ParentMismatch` for a wrong parent.
    """
    parsed = AgencyCode.parse(code)
    claimed = None if parent is None else AgencyCode.parse(parent)
    expected = parsed.parent()
    if claimed == expected:
        return parsed
    if expected is None:
        raise ParentMismatch(str(parsed), f"a level-1 unit has no parent, got {claimed}")
    raise ParentMismatch(str(parsed), f"its parent is {expected}, not {claimed}")


def _check_shape(text: str) -> None:
    if text != text.strip():
        raise InvalidAgencyCode(text, "leading or trailing whitespace")
    if len(text) != _LENGTH:
        raise InvalidAgencyCode(
            text, f"must be {_LENGTH} characters like 000.00.00.G22, got {len(text)}"
        )
    if text.count(".") != 3 or [len(p) for p in text.split(".")] != [3, 2, 2, 3]:
        raise InvalidAgencyCode(text, "must be four dot-separated parts: 3, 2, 2 and 3 wide")
    if _SHAPE.fullmatch(text) is None:
        last = text.rsplit(".", 1)[-1]
        if last[:1].islower():
            raise InvalidAgencyCode(text, "the level-1 letter must be uppercase")
        if not ("A" <= last[:1] <= "Z"):
            raise InvalidAgencyCode(text, "level 1 must start with a letter A-Z")
        raise InvalidAgencyCode(text, "levels must be ASCII digits 0-9")


def _check_parts(text: str, level4: str, level3: str, level2: str, level1: str) -> None:
    if _SHAPE.fullmatch(f"{level4}.{level3}.{level2}.{level1}") is None:
        raise InvalidAgencyCode(text, "parts do not have the shape 000.00.00.G22")
    if level1[1:] == "00":
        raise InvalidAgencyCode(text, "level 1 number must not be 00")
    filled = [int(level2) != 0, int(level3) != 0, int(level4) != 0]
    for depth in (1, 2):
        if filled[depth] and not filled[depth - 1]:
            raise InvalidAgencyCode(
                text,
                f"level {depth + 2} is set while level {depth + 1} is zero; "
                "a level may be non-zero only if all levels above it are",
            )
