"""PDF validations per second next to the raw ECDSA P-256 verify rate of this machine.

The PDF: ten pages of Vietnamese text and an incompressible appendix, about
1 MB, signed by the official then sealed by the organisation (both ECDSA
P-256, PAdES B-B). Each validation reads the file, verifies both signatures'
bytes (hashing the byte ranges), runs pyHanko's difference analysis and
checks both chains at signing time (warm chain cache). The ratio printed is
the cost of one PDF validation over the cost of two raw verifies: how much
more than the two signature checks a PDF costs.

The machine is shared, so the raw verifies and the validations are timed in
interleaved rounds (the same load for both), and `uptime`'s load is printed
with the figures. No figure is asserted anywhere. Run:
`.venv/bin/python -m bench.pades`.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time

from bench.signing import raw_verifier
from signing.pades.document import make_pdf
from signing.pades.sign import VIETNAM, PdfSigner, sign_pdf_twice
from signing.pades.validate import validate_pdf
from signing.pki import CertificateAuthority
from signing.trust import TrustStore

SENDER = "000.00.00.H26"
ROUNDS = 7
PDFS_PER_ROUND = 10
RAW_PER_ROUND = 400


def _load() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "load: " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(tmp)
        org = ca.issue("organization", SENDER, "UBND tỉnh Thái Bình")
        official = ca.issue("official", SENDER, "Nguyễn Văn A", title="Chủ tịch")
        trust = TrustStore([ca.certificate], [ca.crl()])
        pdf = sign_pdf_twice(
            make_pdf(pages=10, padding_bytes=1_000_000),
            PdfSigner(official.key, official.full_chain),
            PdfSigner(org.key, org.full_chain),
            signing_time=dt.datetime.now(VIETNAM).replace(microsecond=0),
        )
        now = dt.datetime.now(dt.UTC)
        warm = validate_pdf(pdf, trust, received_at=now)
        assert len(warm.facts) == 2 and all(f.signature_valid for f in warm.facts)
        raw = raw_verifier()
        print(f"PDF: {len(pdf):,} bytes, 10 pages, 2 signatures; before: {_load()}")
        raw_rates, pdf_rates, ratios = [], [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for _ in range(RAW_PER_ROUND):
                raw()
            raw_rate = RAW_PER_ROUND / (time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(PDFS_PER_ROUND):
                validate_pdf(pdf, trust, received_at=now)
            pdf_rate = PDFS_PER_ROUND / (time.perf_counter() - started)
            raw_rates.append(raw_rate)
            pdf_rates.append(pdf_rate)
            ratios.append((raw_rate / 2) / pdf_rate)
        raw_median, pdf_median = statistics.median(raw_rates), statistics.median(pdf_rates)
        print(f"raw ECDSA P-256 verifies/s: best {max(raw_rates):,.0f}, median {raw_median:,.0f}")
        print(f"PDF validations/s:          best {max(pdf_rates):,.1f}, median {pdf_median:,.1f}")
        print(
            "one PDF validation costs "
            f"{(max(raw_rates) / 2) / max(pdf_rates):,.0f}x two raw verifies (best rounds), "
            f"{statistics.median(ratios):,.0f}x (median round)"
        )
        print(f"after: {_load()}")


if __name__ == "__main__":
    main()
