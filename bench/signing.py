"""Packages verified per second next to the raw ECDSA P-256 verify rate of this machine.

Each package: two signatures (official, organisation), one 10 KB attachment,
a warm chain cache, a distinct package object each time (no manifest reuse).
Target: packages/s >= 40% of raw verifies/s, i.e. the two signature checks are
at least 0.8 of the cost. Also shown: parse + verify from JSON bytes, the
hub's path. Run: `.venv/bin/python -m bench.signing`.

The machine is shared, so the raw verifies and the packages are timed in
interleaved rounds (the same load for both); "best round" is the ratio of the
quickest round of each, the least disturbed by other work, and "median round"
the median over rounds of each round's own ratio (both timed under the same load).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable

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
ROUND = 100  # packages (and raw verifies) per round


def raw_verifier() -> Callable[[], None]:
    key = ec.generate_private_key(ec.SECP256R1())
    data = os.urandom(700)
    signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    public = key.public_key()

    def verify_once() -> None:
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))

    return verify_once


def main(count: int = 3000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(tmp)
        org = ca.issue("organization", SENDER, "UBND")
        official = ca.issue("official", SENDER, "Nguyễn Văn A")
        trust = TrustStore([ca.certificate], [ca.crl()])
        wires = []
        for _ in range(count):
            # Not a PDF: this measures the envelope; bench/pades.py measures a principal PDF.
            pkg = new_package(
                SENDER,
                ["000.00.00.G22"],
                HEADER,
                [("a.bin", "application/octet-stream", os.urandom(10240))],
            )
            pkg = sign_package(pkg, official.key, official.full_chain, "personal")
            pkg = sign_package(pkg, org.key, org.full_chain, "organization")
            wires.append(package_json(pkg))
        packages = [parse_package(w) for w in wires]
        now = dt.datetime.now(dt.UTC)
        assert verify_package(packages[0], trust, received_at=now).compliant  # warm the cache
        raw = raw_verifier()

        totals = {"raw": 0.0, "verify": 0.0, "parse": 0.0}
        best = {"raw": float("inf"), "verify": float("inf"), "parse": float("inf")}
        rounds: dict[str, list[float]] = {"verify": [], "parse": []}  # per-round ratios
        for first in range(0, count, ROUND):
            batch = range(first, min(first + ROUND, count))
            start = time.perf_counter()
            for _ in batch:
                raw()
            raw_done = time.perf_counter()
            for i in batch:
                verify_package(packages[i], trust, received_at=now)
            verify_done = time.perf_counter()
            for i in batch:
                verify_package(parse_package(wires[i]), trust, received_at=now)
            parse_done = time.perf_counter()
            times = {
                "raw": raw_done - start,
                "verify": verify_done - raw_done,
                "parse": parse_done - verify_done,
            }
            for name, seconds in times.items():
                totals[name] += seconds
                best[name] = min(best[name], seconds / len(batch))
            rounds["verify"].append(times["raw"] / times["verify"])
            rounds["parse"].append(times["raw"] / times["parse"])

    raw_rate, verify_rate, parse_rate = (count / totals[k] for k in ("raw", "verify", "parse"))
    print(f"raw ECDSA P-256 verifies/s:        {raw_rate:9.0f}")
    print(
        f"packages verified/s (parsed):      {verify_rate:9.0f}  ratio {verify_rate / raw_rate:.2f}"
        f" (best round {best['raw'] / best['verify']:.2f},"
        f" median round {statistics.median(rounds['verify']):.2f}; target >= 0.40)"
    )
    print(
        f"packages parsed+verified/s (JSON): {parse_rate:9.0f}  ratio {parse_rate / raw_rate:.2f}"
        f" (best round {best['raw'] / best['parse']:.2f},"
        f" median round {statistics.median(rounds['parse']):.2f})"
    )
    print(
        f"share of cost in the two signature checks: {2 * verify_rate / raw_rate:.2f}"
        " (target >= 0.80)"
    )
    overhead = (best["verify"] - 2 * best["raw"]) * 1e6
    parsing = (best["parse"] - best["verify"]) * 1e6
    print(
        f"per package besides the two verifies: {overhead:.0f} µs verifying,"
        f" {parsing:.0f} µs parsing (one raw verify: {best['raw'] * 1e6:.0f} µs; best rounds)"
    )
    print(f"chain cache: {trust.stats}")


if __name__ == "__main__":
    main()
