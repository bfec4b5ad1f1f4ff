"""The chain cache: the 1,000th package from a sender does not rebuild a chain."""

from __future__ import annotations

from signing.package import Package
from signing.trust import TrustStore
from signing.verify import verify_package
from tests.signing.conftest import RECEIVED_AT, SignBoth


def test_chains_are_built_once_per_signer(
    sign_both: SignBoth, unsigned: Package, trust: TrustStore
) -> None:
    packages = [sign_both(pkg=unsigned.model_copy(update={"id": f"{i:032x}"})) for i in range(1000)]
    verdicts = [verify_package(p, trust, received_at=RECEIVED_AT) for p in packages]
    assert all(v.compliant for v in verdicts)
    assert trust.stats.chain_builds == 2  # the official's and the organisation's
    assert trust.stats.hits == 2 * 1000 - 2


def test_validity_is_still_judged_per_signature(sign_both: SignBoth, trust: TrustStore) -> None:
    pkg = sign_both()
    assert verify_package(pkg, trust, received_at=RECEIVED_AT).compliant
    late = sign_both(at="2031-01-01T09:00:00+07:00")  # after the certificates expired
    verdict = verify_package(late, trust, received_at=RECEIVED_AT.replace(year=2031))
    assert "CERTIFICATE_EXPIRED" in verdict.violations
    assert trust.stats.chain_builds == 2
