"""The demo's documents: a real PDF each, signed the way and in the place the plan says."""

from __future__ import annotations

import datetime as dt

import pytest

from member_node.identity import NodeIdentity, Signer
from member_node.simulation.scenario import ScenarioError, load_scenario, parse_scenario
from member_node.simulation.signer import DocumentSigner
from member_node.simulation.traffic import PlannedDocument, plan_traffic
from registry.national import load_national_units
from signing.pki import CertificateAuthority
from signing.trust import TrustStore
from signing.verify import verify_package

SENDER, OFFICE = "000.00.00.H26", "000.00.00.G22"

CASES = [
    ("compliant", "pdf", [], ("pdf",)),
    ("compliant", "envelope", [], ("envelope",)),
    ("compliant", "both", [], ("pdf", "envelope")),
    ("unsigned", "pdf", ["UNSIGNED"], ()),
    ("no_personal", "pdf", ["NO_PERSONAL_SIGNATURE"], ("pdf",)),
    ("no_personal", "envelope", ["NO_PERSONAL_SIGNATURE"], ("envelope",)),
    ("edited", "pdf", ["MODIFIED_AFTER_SIGNING"], ("pdf",)),
    ("wrong_order", "pdf", ["WRONG_ORDER"], ("pdf",)),
    ("wrong_order", "envelope", ["WRONG_ORDER"], ("envelope",)),
    ("utc_time", "pdf", ["BAD_SIGNING_TIME"], ("pdf",)),
    ("weak_key", "pdf", ["WEAK_ALGORITHM"], ("pdf",)),
    ("revoked", "both", ["CERTIFICATE_REVOKED"], ("pdf", "envelope")),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateAuthority, DocumentSigner]:
    ca = CertificateAuthority.init(tmp_path_factory.mktemp("ca"))
    signer = DocumentSigner({SENDER: "Ủy ban nhân dân tỉnh Hưng Yên"})
    plan = [PlannedDocument(0, SENDER, (OFFICE,), "report", way) for way, *_ in CASES]
    signer.issue_faulty(ca, plan)
    return ca, signer


@pytest.mark.parametrize(("way", "where", "violations", "sources"), CASES)
def test_each_way_and_place_gives_its_verdict(
    setup: tuple[CertificateAuthority, DocumentSigner],
    way: str,
    where: str,
    violations: list[str],
    sources: tuple[str, ...],
) -> None:
    ca, signer = setup
    org = ca.issue("organization", SENDER, "UBND tỉnh Hưng Yên")
    official = ca.issue("official", SENDER, "Nguyễn Văn A", title="Chủ tịch")
    identity = NodeIdentity(
        code=SENDER,
        organization=Signer(org.key, org.full_chain),
        official=Signer(official.key, official.full_chain),
        hub_certificate=ca.certificate,
        roots=[ca.certificate],
    )
    doc = PlannedDocument(7, SENDER, (OFFICE,), "report", way, where)
    pkg = signer.package(identity, doc)
    [attachment] = pkg.attachments
    assert attachment.media_type == "application/pdf" and attachment.data.startswith(b"%PDF-")
    verdict = verify_package(
        pkg, TrustStore([ca.certificate], [ca.crl()]), received_at=dt.datetime.now(dt.UTC)
    )
    assert verdict.violations == violations
    found = {"envelope" if f.source == "envelope" else "pdf" for f in verdict.signatures}
    assert tuple(sorted(found, key=("pdf", "envelope").index)) == sources


def test_the_pdf_is_made_once_per_sender_and_kind(
    setup: tuple[CertificateAuthority, DocumentSigner],
) -> None:
    _, signer = setup
    first = PlannedDocument(1, SENDER, (OFFICE,), "report", "compliant")
    again = PlannedDocument(9, SENDER, (OFFICE,), "report", "unsigned")
    assert signer.template(first) is signer.template(again)


def test_where_is_drawn_by_the_scenarios_shares() -> None:
    units = load_national_units()
    scenario = load_scenario()
    codes = [unit.code for unit in units]
    plan = plan_traffic(scenario, codes, [u.code for u in units if u.kind == "province"], seed=2019)
    signed = [doc for doc in plan[1:] if doc.signing != "unsigned"]
    office = scenario.government_office
    for code, to in (("000.00.00.H62", office), ("000.00.00.H23", office), ("000.00.00.G24", None)):
        chosen = [d for d in signed if d.sender == code and (to is None or to in d.recipients)]
        assert chosen and {doc.where for doc in chosen} == {"pdf"}
    assert all(doc.where == "pdf" for doc in signed if doc.signing == "edited")
    counts = {w: sum(doc.where == w for doc in signed) for w in ("pdf", "envelope", "both")}
    assert counts["pdf"] > counts["envelope"] > 0 and counts["both"] > 0
    assert plan[0].where == "both"


def test_where_must_add_up_to_one() -> None:
    raw = {
        "traffic": {"documents": 10, "recipients_per_document": 3.0, "push_share": 0.5,
                    "reports_per_province": 1},
        "signing": {"default": {"signed": 1.0, "where": {"pdf": 0.5, "envelope": 0.2}}},
    }  # fmt: skip
    with pytest.raises(ScenarioError, match="where must add up to 1"):
        parse_scenario(raw)
    raw["signing"]["default"]["where"] = {"paper": 1.0}  # type: ignore[index]
    with pytest.raises(ScenarioError, match="unknown"):
        parse_scenario(raw)
