"""The demo's traffic, drawn from the scenario with one seed: who sends what to whom,
and how each document is signed.

Three kinds of documents: the Prime Minister's decision broadcast by the
Government Office to every other unit, the provinces' reports to the
Government Office, and the everyday exchange between ministries and
provinces, whose recipient counts bring the mean to the seeds' 3.13.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from member_node.simulation.scenario import Scenario, SigningBehaviour

Kind = Literal["broadcast", "report", "exchange"]
MAX_EXCHANGE_RECIPIENTS = 24


@dataclass(frozen=True)
class PlannedDocument:
    index: int
    sender: str
    recipients: tuple[str, ...]
    kind: Kind
    signing: str
    """`compliant`, `unsigned`, or one of `scenario.DEFECTS`."""
    where: str = "pdf"
    """Where a signed document is signed: `pdf`, `envelope` or `both` (`scenario.WHERE`)."""

    def header(self) -> dict[str, Any]:
        number = str(self.index + 1)
        if self.kind == "broadcast":
            return _header(
                number,
                "QĐ-TTg",
                "QD",
                "Quyết định của Thủ tướng Chính phủ về việc gửi, nhận văn bản điện tử",
                "Thủ tướng Chính phủ",
                priority=2,
            )
        if self.kind == "report":
            return _header(
                number, "BC-UBND", "BC", "Báo cáo tình hình kinh tế - xã hội", "Chủ tịch"
            )
        return _header(number, "CV", "CV", "Về việc phối hợp triển khai nhiệm vụ", "Thủ trưởng")


def _header(
    number: str, notation: str, doc_type: str, subject: str, position: str, priority: int = 0
) -> dict[str, Any]:
    return {
        "code": {"number": number, "notation": notation},
        "promulgation": {"place": "Hà Nội", "date": "2019-03-12"},
        "type": doc_type,
        "subject": subject,
        "signer": {"name": "Nguyễn Văn A", "position": position},
        "priority": priority,
    }


def signing_shares(behaviour: SigningBehaviour) -> dict[str, float]:
    """The share of a sender's documents made each way: unsigned, each defect, compliant."""
    shares = {"unsigned": 1 - behaviour.signed}
    for defect, share in behaviour.defects.items():
        shares[defect] = behaviour.signed * share
    shares["compliant"] = behaviour.expected_compliant
    return shares


def draw_signings(behaviour: SigningBehaviour, count: int, rng: random.Random) -> list[str]:
    """How `count` documents under one behaviour are signed, in a random order.

    Systematic sampling rather than one draw per document: each way gets
    its share of the count rounded up or down at random (never further), so
    a sender's measured share is the scenario's within one document whatever
    the seed, while a rare defect still turns up at its rate across senders.
    """
    start, ways, bound = rng.random(), [], 0.0
    shares = iter(signing_shares(behaviour).items())
    way, share = next(shares)
    for point in (start + i for i in range(count)):
        while point >= bound + share * count and (nxt := next(shares, None)) is not None:
            bound += share * count
            way, share = nxt
        ways.append(way)
    rng.shuffle(ways)
    return ways


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; fine for the small means used here."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def plan_traffic(
    scenario: Scenario, codes: Sequence[str], provinces: Sequence[str], seed: int
) -> list[PlannedDocument]:
    """Every document of the run, in sending order (the broadcast first)."""
    rng = random.Random(seed)
    office = scenario.government_office
    total = scenario.documents
    reports = {
        code: scenario.reports_per_province + scenario.extra_reports.get(code, 0)
        for code in provinces
        if code != office
    }
    budget = max(0, (total - 1) // 2)  # leave at least half of the run to the exchange
    if sum(reports.values()) > budget:
        scale = budget / sum(reports.values())
        reports = {code: math.floor(n * scale) for code, n in reports.items()}
    routes: list[tuple[str, tuple[str, ...], Kind]] = []
    for code, count in reports.items():
        routes += [(code, (office,), "report")] * count
    exchange = max(0, total - 1 - len(routes))
    others = len(codes) - 1
    remaining = scenario.recipients_per_document * total - others - len(routes)
    mean = max(1.0, remaining / exchange) if exchange else 1.0
    for _ in range(exchange):
        sender = rng.choice(codes)
        count = min(1 + _poisson(rng, mean - 1), MAX_EXCHANGE_RECIPIENTS, others)
        pool = [code for code in codes if code != sender]
        routes.append((sender, tuple(sorted(rng.sample(pool, count))), "exchange"))
    rng.shuffle(routes)
    routes.insert(0, (office, tuple(code for code in codes if code != office), "broadcast"))
    signings = _signings(scenario, routes, rng)
    wheres = _wheres(scenario, routes, signings, random.Random(seed + 1))
    return [
        PlannedDocument(index, sender, recipients, kind, signing, where)
        for index, ((sender, recipients, kind), signing, where) in enumerate(
            zip(routes, signings, wheres, strict=True)
        )
    ]


def _wheres(
    scenario: Scenario,
    routes: list[tuple[str, tuple[str, ...], Kind]],
    signings: list[str],
    rng: random.Random,
) -> list[str]:
    """Where each signed document is signed, by its behaviour's shares (stratified like the
    signings, per sender and behaviour); a PDF edited after signing is signed in the PDF;
    the broadcast is signed in the PDF and on the envelope."""
    groups: dict[tuple[str, str], tuple[dict[str, float], list[int]]] = {}
    for index, (sender, recipients, kind) in enumerate(routes):
        if kind != "broadcast" and signings[index] not in ("unsigned", "edited"):
            where = scenario.behaviour(sender, list(recipients)).where
            groups.setdefault((sender, repr(where)), (where, []))[1].append(index)
    wheres = ["pdf"] * len(routes)
    wheres[0] = "both"
    for shares, indexes in groups.values():
        ways = _systematic(shares, len(indexes), rng)
        for index, way in zip(indexes, ways, strict=True):
            wheres[index] = way
    return wheres


def _systematic(shares: dict[str, float], count: int, rng: random.Random) -> list[str]:
    """`count` draws whose counts follow `shares` within one, in a random order."""
    start, ways, bound = rng.random(), [], 0.0
    items = iter(shares.items())
    way, share = next(items)
    for point in (start + i for i in range(count)):
        while point >= bound + share * count and (nxt := next(items, None)) is not None:
            bound += share * count
            way, share = nxt
        ways.append(way)
    rng.shuffle(ways)
    return ways


def _signings(
    scenario: Scenario, routes: list[tuple[str, tuple[str, ...], Kind]], rng: random.Random
) -> list[str]:
    """Each route's signing, stratified per (sender, behaviour); the broadcast is compliant."""
    groups: dict[tuple[str, str], tuple[SigningBehaviour, list[int]]] = {}
    for index, (sender, recipients, kind) in enumerate(routes):
        if kind != "broadcast":
            behaviour = scenario.behaviour(sender, list(recipients))
            groups.setdefault((sender, repr(behaviour)), (behaviour, []))[1].append(index)
    signings = ["compliant"] * len(routes)
    for behaviour, indexes in groups.values():
        for index, way in zip(indexes, draw_signings(behaviour, len(indexes), rng), strict=True):
            signings[index] = way
    return signings
