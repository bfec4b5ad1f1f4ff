"""The demo's scenario: traffic shape, the offline node, clerks, per-sender signing.

Read from TOML (`scenario.toml`, shipped with the package, is the default);
every figure is checked on load so a bad file fails with where and why.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

DEFECTS = ("no_personal", "wrong_order", "expired", "revoked", "weak_key", "utc_time", "edited")
"""The ways a signed document can be signed wrongly (see scenario.toml)."""
WHERE = ("pdf", "envelope", "both")
"""Where a signed document's signatures are: in the PDF, on the envelope, or both."""
DEFAULT_WHERE = {"pdf": 1.0}


class ScenarioError(ValueError):
    """The scenario file is malformed; the message names the offending entry."""


@dataclass(frozen=True)
class SigningBehaviour:
    signed: float = 1.0
    defects: dict[str, float] = field(default_factory=dict)
    where: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WHERE))
    """Shares of the signed documents signed in the PDF, on the envelope, or both."""

    @property
    def expected_signed_in_pdf(self) -> float:
        """The share of documents whose PDF carries a signature."""
        return self.signed * (self.where.get("pdf", 0.0) + self.where.get("both", 0.0))

    @property
    def expected_compliant(self) -> float:
        return self.signed * (1 - sum(self.defects.values()))


@dataclass(frozen=True)
class SigningRule:
    sender: str
    recipient: str | None
    signed: float | None
    defects: dict[str, float] | None
    where: dict[str, float] | None = None


@dataclass(frozen=True)
class Offline:
    code: str
    after_share: float
    seconds: float


@dataclass(frozen=True)
class Scenario:
    documents: int
    recipients_per_document: float
    government_office: str
    reports_per_province: int
    extra_reports: dict[str, int]
    push_share: float
    offline: Offline | None
    clerk_steps: tuple[tuple[str, float], ...]
    clerk_rejects: dict[str, frozenset[str]]
    default: SigningBehaviour
    rules: tuple[SigningRule, ...]
    edxml_share: float = 0.0
    """Share of units whose DMS speaks edXML: they receive edXML and send it too."""
    edxml_units: tuple[str, ...] = ()
    """Units that speak edXML whatever the draw (counted in the share)."""

    def behaviour(self, sender: str, recipients: list[str]) -> SigningBehaviour:
        """How `sender` signs a document to `recipients`: the default, then matching rules."""
        signed, defects = self.default.signed, dict(self.default.defects)
        where = dict(self.default.where)
        for rule in self.rules:
            if rule.sender != sender:
                continue
            if rule.recipient is not None and rule.recipient not in recipients:
                continue
            if rule.signed is not None:
                signed = rule.signed
            if rule.defects is not None:
                defects = {**defects, **rule.defects}
            if rule.where is not None:
                where = dict(rule.where)
        return SigningBehaviour(signed, defects, where)

    def with_documents(self, documents: int) -> Scenario:
        from dataclasses import replace

        return replace(self, documents=documents)


def load_scenario(path: Path | None = None) -> Scenario:
    """The scenario at `path`, or the default one shipped with the package."""
    try:
        if path is None:
            text = resources.files(__package__).joinpath("scenario.toml").read_text("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"cannot read the scenario {path or 'scenario.toml'}: {exc}") from exc
    return parse_scenario(raw)


def parse_scenario(raw: dict[str, Any]) -> Scenario:
    traffic = _table(raw, "traffic")
    offline = raw.get("offline")
    clerk = raw.get("clerk", {})
    signing = _table(raw, "signing")
    extra = traffic.get("extra_reports", {})
    rejects = clerk.get("reject_violations", {})
    return Scenario(
        documents=_int(traffic, "documents", "traffic", minimum=1),
        recipients_per_document=_number(traffic, "recipients_per_document", "traffic", 1.0, 94),
        government_office=str(traffic.get("government_office", "000.00.00.G22")),
        reports_per_province=_int(traffic, "reports_per_province", "traffic", minimum=0),
        extra_reports={str(k): _int(extra, k, "traffic.extra_reports") for k in extra},
        push_share=_number(traffic, "push_share", "traffic", 0.0, 1.0),
        offline=None
        if offline is None
        else Offline(
            str(offline["code"]),
            _number(offline, "after_share", "offline", 0.0, 1.0),
            _number(offline, "seconds", "offline", 0.0, 3600.0),
        ),
        clerk_steps=tuple((str(code), float(delay)) for code, delay in clerk.get("steps", [])),
        clerk_rejects={str(k): frozenset(map(str, v)) for k, v in rejects.items()},
        default=_behaviour(_table(signing, "default"), "signing.default"),
        rules=tuple(
            _rule(entry, f"signing.rule[{i}]") for i, entry in enumerate(signing.get("rule", []))
        ),
        edxml_share=_number(traffic, "edxml_share", "traffic", 0.0, 1.0)
        if "edxml_share" in traffic
        else 0.0,
        edxml_units=tuple(str(code) for code in traffic.get("edxml_units", [])),
    )


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ScenarioError(f"the scenario needs a [{key}] table")
    return value


def _number(table: dict[str, Any], key: str, where: str, low: float, high: float) -> float:
    value = table.get(key)
    if not isinstance(value, int | float) or not low <= value <= high:
        raise ScenarioError(f"{where}.{key} must be a number in [{low}, {high}], not {value!r}")
    return float(value)


def _int(table: dict[str, Any], key: str, where: str, minimum: int = 0) -> int:
    value = table.get(key)
    if not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"{where}.{key} must be an integer >= {minimum}, not {value!r}")
    return value


def _defects(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}.defects must be a table")
    unknown = set(value) - set(DEFECTS)
    if unknown:
        raise ScenarioError(f"{where}.defects: unknown {sorted(unknown)}; known: {DEFECTS}")
    shares = {str(k): _number(value, k, f"{where}.defects", 0.0, 1.0) for k in value}
    if sum(shares.values()) > 1.0:
        raise ScenarioError(f"{where}.defects add up to more than 1")
    return shares


def _where(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}.where must be a table")
    unknown = set(value) - set(WHERE)
    if unknown:
        raise ScenarioError(f"{where}.where: unknown {sorted(unknown)}; known: {WHERE}")
    shares = {str(k): _number(value, k, f"{where}.where", 0.0, 1.0) for k in value}
    if abs(sum(shares.values()) - 1.0) > 1e-9:
        raise ScenarioError(f"{where}.where must add up to 1")
    return shares


def _behaviour(table: dict[str, Any], where: str) -> SigningBehaviour:
    return SigningBehaviour(
        _number(table, "signed", where, 0.0, 1.0),
        _defects(table.get("defects", {}), where),
        _where(table.get("where", DEFAULT_WHERE), where),
    )


def _rule(entry: Any, where: str) -> SigningRule:
    if not isinstance(entry, dict) or "sender" not in entry:
        raise ScenarioError(f"{where} needs a sender")
    return SigningRule(
        sender=str(entry["sender"]),
        recipient=str(entry["recipient"]) if "recipient" in entry else None,
        signed=_number(entry, "signed", where, 0.0, 1.0) if "signed" in entry else None,
        defects=_defects(entry["defects"], where) if "defects" in entry else None,
        where=_where(entry["where"], where) if "where" in entry else None,
    )
