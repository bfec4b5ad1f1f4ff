"""PDF validations per second next to the raw ECDSA P-256 verify rate of this machine.

The PDF: ten pages of Vietnamese text and an incompressible appendix, about
1 MB, signed by the official then sealed by the organisation (both ECDSA
P-256, PAdES B-B). Each validation reads the file, verifies both signatures'
bytes (hashing the byte ranges), runs pyHanko's difference analysis and
checks both chains at signing time (warm chain cache). The ratio printed is
the cost of one PDF validation over the cost of two raw verifies: how much
more than the two signature checks a PDF costs.

Then the hub's ingest rate (`POST /v1/documents`, one `lienthong hub serve`
process on SQLite, `CLIENTS` submissions in flight): packages carrying that
PDF as their principal PDF, next to the same packages with the same bytes as
an `application/octet-stream` attachment (not opened), in alternating rounds
of the same run; once with the PDFs read in worker processes (the default,
`LIENTHONG_PDF_WORKERS=2`) and once in the ingest's threads (`=0`).

The machine is shared, so the raw verifies and the validations are timed in
interleaved rounds (the same load for both), and `uptime`'s load is printed
with the figures. No figure is asserted anywhere. Run:
`.venv/bin/python -m bench.pades [--ingest-seconds 6] [--no-ingest]`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import signed_pdf, uptime
from bench.signing import raw_verifier
from signing.pades.validate import validate_pdf
from signing.pki import CertificateAuthority
from signing.trust import TrustStore

SENDER = "000.00.00.H26"
CLIENTS = 8
INGEST_ROUNDS = 3
ROUNDS = 7
PDFS_PER_ROUND = 10
RAW_PER_ROUND = 400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-seconds", type=float, default=6.0)
    parser.add_argument("--no-ingest", action="store_true")
    args = parser.parse_args()
    validations()
    if not args.no_ingest:
        for workers in (2, 0):
            ingest(args.ingest_seconds, workers)


def validations() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(tmp)
        trust = TrustStore([ca.certificate], [ca.crl()])
        pdf, _, _ = signed_pdf(ca, SENDER)
        now = dt.datetime.now(dt.UTC)
        warm = validate_pdf(pdf, trust, received_at=now)
        assert len(warm.facts) == 2 and all(f.signature_valid for f in warm.facts)
        raw = raw_verifier()
        print(f"PDF: {len(pdf):,} bytes, 10 pages, 2 signatures; before: {uptime()}")
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
        print(f"after: {uptime()}")


class _Packages:
    """Unique signed packages from the bench's senders, each carrying `pdf`, made as they are
    sent (a pool of 1.4 MB bodies would not fit in memory); both kinds pay the same."""

    def __init__(self, pki: Path, pdf: bytes, media_type: str) -> None:
        from bench.ingest import SENDERS
        from signing.certs import load_certificate
        from signing.keys import load_private_key

        ca = load_certificate(pki / "ca.crt")
        self.pdf, self.media_type = pdf, media_type
        self.signers = {
            code: [
                (load_private_key(pki / f"{code}.{who}.key"),
                 [load_certificate(pki / f"{code}.{who}.crt"), ca], kind)
                for who, kind in (("official", "personal"), ("org", "organization"))
            ]
            for code in SENDERS
        }  # fmt: skip
        self.made = 0

    def next(self) -> tuple[str, bytes]:
        from bench.ingest import HEADER, RECIPIENTS
        from signing.package import new_package, package_json
        from signing.sign import sign_package

        codes = list(self.signers)
        code = codes[self.made % len(codes)]
        self.made += 1
        pkg = new_package(code, RECIPIENTS[:3], HEADER, [("qd.pdf", self.media_type, self.pdf)])
        for key, chain, kind in self.signers[code]:
            pkg = sign_package(pkg, key, chain, kind)  # type: ignore[arg-type]
        return code, package_json(pkg)


async def _submit_for(
    url: str, tokens: dict[str, str], packages: _Packages, seconds: float
) -> float:
    """Accepted documents per second with `CLIENTS` submissions in flight, for `seconds`."""
    accepted = 0
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def submitter() -> None:
            nonlocal accepted
            while time.monotonic() < stop:
                code, body = packages.next()
                response = await client.post(
                    "/v1/documents",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {tokens[code]}",
                        "Content-Type": "application/json",
                    },
                )
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
                accepted += 1

        started = time.monotonic()
        await asyncio.gather(*(submitter() for _ in range(CLIENTS)))
        elapsed = time.monotonic() - started
    return accepted / elapsed


def ingest(seconds: float, pdf_workers: int) -> None:
    from bench.common import HUB_ID, free_port, server
    from bench.ingest import SENDERS, make_pki, prepare_database
    from signing.certs import load_certificate
    from signing.jose import mint_token
    from signing.keys import load_private_key

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pki = tmp / "pki"
        ca = make_pki(pki)
        url = f"sqlite+aiosqlite:///{tmp / 'hub.db'}"
        asyncio.run(prepare_database(url, pki, ca))
        pdf, _, _ = signed_pdf(ca, SENDERS[0])
        pools = {
            "with the PDF": _Packages(pki, pdf, "application/pdf"),
            "without (same bytes, not a PDF)": _Packages(pki, pdf, "application/octet-stream"),
        }
        tokens = {
            code: mint_token(
                load_private_key(pki / f"{code}.org.key"),
                load_certificate(pki / f"{code}.org.crt"),
                code,
                HUB_ID,
                lifetime=300,
            )
            for code in SENDERS
        }
        port = free_port()
        env = dict(
            os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]),
            LIENTHONG_DATABASE_URL=url, LIENTHONG_PKI_DIR=str(pki), LIENTHONG_DATA_DIR=str(tmp),
            LIENTHONG_HUB_ID=HUB_ID, LIENTHONG_LOG_LEVEL="WARNING",
            LIENTHONG_PDF_WORKERS=str(pdf_workers),
        )  # fmt: skip
        command = [sys.executable, "-m", "lienthong", "hub", "serve", "--port", str(port),
                   "--log-level", "warning"]  # fmt: skip
        where = "worker processes" if pdf_workers else "the ingest threads"
        print(f"\nhub ingest, PDFs read in {where}, {CLIENTS} in flight; before: {uptime()}")
        rates: dict[str, list[float]] = {name: [] for name in pools}
        with server(command, env, port) as hub_url:
            asyncio.run(_submit_for(hub_url, tokens, pools["with the PDF"], 1.0))  # warm-up
            for _ in range(INGEST_ROUNDS):
                for name, bodies in pools.items():
                    rate = asyncio.run(_submit_for(hub_url, tokens, bodies, seconds))
                    rates[name].append(rate)
        for name, values in rates.items():
            print(f"  {name:<32} documents/s: median {statistics.median(values):6.1f}  "
                  f"rounds {', '.join(f'{v:.1f}' for v in values)}")  # fmt: skip
        with_pdf = statistics.median(rates["with the PDF"])
        without = statistics.median(rates["without (same bytes, not a PDF)"])
        print(f"  with the PDF / without: {with_pdf / without:.2f}; after: {uptime()}")


if __name__ == "__main__":
    main()
