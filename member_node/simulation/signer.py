"""Make each planned document the way its sender signs it: right, not at all, or wrongly.

The faulty credentials (an expired certificate, a revoked one, a 1024-bit RSA
key) are issued by the national CA before the hub starts, so the revocations
are already in the CRL the hub loads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from member_node.client import HubClient
from member_node.identity import Signer
from member_node.simulation.traffic import PlannedDocument
from signing.package import Package
from signing.pki import CertificateAuthority
from signing.sign import sign_package

VN = dt.timezone(dt.timedelta(hours=7))
FAULTY_CREDENTIALS = ("expired", "revoked", "weak_key")


class DocumentSigner:
    """Holds the faulty officials' credentials and signs packages per plan."""

    def __init__(self) -> None:
        self.faulty: dict[tuple[str, str], Signer] = {}

    def issue_faulty(self, ca: CertificateAuthority, plan: Iterable[PlannedDocument]) -> None:
        """Issue (and revoke) the credentials the plan's defects need; call before the hub runs."""
        now = dt.datetime.now(dt.UTC)
        for doc in plan:
            key = (doc.sender, doc.signing)
            if doc.signing not in FAULTY_CREDENTIALS or key in self.faulty:
                continue
            if doc.signing == "expired":
                issued = ca.issue(
                    "official",
                    doc.sender,
                    "Trần Văn B",
                    title="Phó Chủ tịch",
                    not_before=now - dt.timedelta(days=800),
                    days=365,
                )
            elif doc.signing == "weak_key":
                issued = ca.issue(
                    "official", doc.sender, "Lê Thị C", title="Phó Chủ tịch", key_type="rsa1024"
                )
            else:
                issued = ca.issue("official", doc.sender, "Phạm Văn D", title="Phó Chủ tịch")
                ca.revoke(issued.cert, "key_compromise", at=now - dt.timedelta(hours=1))
            self.faulty[key] = Signer(issued.key, issued.full_chain)

    def package(self, client: HubClient, doc: PlannedDocument) -> Package:
        header = doc.header()
        recipients = list(doc.recipients)
        if doc.signing in ("compliant", "unsigned", "no_personal"):
            return client.build_package(
                recipients,
                header,
                personal=doc.signing == "compliant",
                organization=doc.signing != "unsigned",
            )
        pkg = client.build_package(recipients, header, personal=False, organization=False)
        identity = client.identity
        official = self.faulty.get((doc.sender, doc.signing)) or identity.official
        org = identity.organization
        assert official is not None
        now = dt.datetime.now(VN).replace(microsecond=0)
        if doc.signing == "wrong_order":
            pkg = sign_package(pkg, org.key, org.chain, "organization", now)
            return sign_package(pkg, official.key, official.chain, "personal", now)
        when: dt.datetime | str = now
        if doc.signing == "utc_time":
            when = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pkg = sign_package(pkg, official.key, official.chain, "personal", when)
        return sign_package(pkg, org.key, org.chain, "organization", when)
