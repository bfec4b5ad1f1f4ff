"""Packages verified per second next to the raw ECDSA P-256 verify rate of this machine.

Each package: two signatures (official, organisation), one 10 KB attachment,
a warm chain cache, a distinct package object each time (no manifest reuse).
Target: packages/s >= 40% of raw verifies/s, i.e. the two signature checks are
at least 0.8 of the cost. Run: `.venv/bin/python -m bench.signing`.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from signing.package import new_package, package_json, parse_package
from signing.pki import CertificateAuthority
from signing.sign import sign_package
from signing.trust import TrustStore
from signing.verify import verify_package

SENDER = "000.00.00.H26"
HEADER = {
    "code": {"number": "274", "notation": "QĐ-UBND"},
    "promulgation": {"place": "Thái Bình", "date": "2025-03-12"},
    "type": "QD",
    "subject": "Về việc ban hành quy chế làm việc",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}


def raw_verify_rate(seconds: float = 2.0) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    data = os.urandom(700)
    signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        n += 100
    return n / (time.perf_counter() - start)


def main(count: int = 3000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(tmp)
        org = ca.issue("organization", SENDER, "UBND")
        official = ca.issue("official", SENDER, "Nguyễn Văn A")
        trust = TrustStore([ca.certificate], [ca.crl()])
        wires = []
        for _ in range(count):
            pkg = new_package(
                SENDER, ["000.00.00.G22"], HEADER, [("a.pdf", "application/pdf", os.urandom(10240))]
            )
            pkg = sign_package(pkg, official.key, official.full_chain, "personal")
            pkg = sign_package(pkg, org.key, org.full_chain, "organization")
            wires.append(package_json(pkg))
        packages = [parse_package(w) for w in wires]
        now = dt.datetime.now(dt.UTC)
        verify_package(packages[0], trust, received_at=now)  # warm the chain cache

        start = time.perf_counter()
        for pkg in packages:
            verdict = verify_package(pkg, trust, received_at=now)
        verify_rate = count / (time.perf_counter() - start)
        assert verdict.compliant

        start = time.perf_counter()
        for wire in wires:
            verify_package(parse_package(wire), trust, received_at=now)
        parse_rate = count / (time.perf_counter() - start)

    raw = raw_verify_rate()
    print(f"raw ECDSA P-256 verifies/s:        {raw:9.0f}")
    print(
        f"packages verified/s (parsed):      {verify_rate:9.0f}  ratio {verify_rate / raw:.2f}"
        " (target >= 0.40)"
    )
    print(f"packages parsed+verified/s (JSON): {parse_rate:9.0f}  ratio {parse_rate / raw:.2f}")
    print(
        f"share of cost in the two signature checks: {2 * verify_rate / raw:.2f} (target >= 0.80)"
    )
    print(f"chain cache: {trust.stats}")


if __name__ == "__main__":
    main()
