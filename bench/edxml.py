"""edXML documents read per second next to JSON packages of the same content.

Each document: one 1 MB PDF attachment (random bytes) and one organisation
signature (XML-DSig on the edXML envelope, JWS in the JSON package). edXML:
`read_edxml` (safe parse, our XSD, signature form, mapping to the package,
XML-DSig verification, chain check). JSON: `parse_package` then
`verify_package`, the hub's JSON path. Both run in interleaved rounds in the
same process, so they share the machine's load, which is printed (`uptime`)
before and after.

Then the ingest rate through a running hub (`--ingest`, on by default): a hub
with one worker on SQLite (and PostgreSQL unless `--no-postgres`) loaded by
Debian's `wrk` with unique pre-signed documents of the same content, a 4 KB
PDF and the organisation's signature (XML-DSig on an edXML envelope, a JWS on
the JSON package), in alternating edXML and JSON runs of the same length.
Nothing is asserted. Run: `.venv/bin/python -m bench.edxml [--duration 6] [--no-postgres]`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.common import uptime
from signing.edxml import package_to_edxml, read_edxml, sign_envelope
from signing.package import new_package, package_json, parse_package
from signing.pki import CertificateAuthority
from signing.sign import sign_package
from signing.trust import TrustStore
from signing.verify import verify_package
from signing.workdays import VIETNAM_TZ

SENDER = "000.00.00.H26"
HEADER = {
    "code": {"number": "274", "notation": "QĐ-UBND"},
    "promulgation": {"place": "Thái Bình", "date": "2025-03-12"},
    "type": "QD",
    "subject": "Về việc ban hành quy chế làm việc",
    "signer": {"name": "Nguyễn Văn A", "position": "Chủ tịch"},
}
PDF_BYTES = 1024 * 1024
ROUND = 5


def main(count: int = 40) -> None:
    print(f"load before: {uptime()}")
    with tempfile.TemporaryDirectory() as tmp:
        ca = CertificateAuthority.init(tmp)
        org = ca.issue("organization", SENDER, "UBND tỉnh Thái Bình")
        trust = TrustStore([ca.certificate], [ca.crl()])
        now = dt.datetime.now(VIETNAM_TZ)
        xmls, jsons = [], []
        for _ in range(count):
            pdf = b"%PDF-1.7\n" + os.urandom(PDF_BYTES - 9)
            pkg = new_package(
                SENDER, ["000.00.00.G22"], HEADER, [("qd.pdf", "application/pdf", pdf)]
            )
            xmls.append(
                sign_envelope(package_to_edxml(pkg, timestamp=now), org.key, org.full_chain)
            )
            jsons.append(package_json(sign_package(pkg, org.key, org.full_chain, "organization")))
        received = now + dt.timedelta(minutes=1)
        assert read_edxml(xmls[0], trust, received_at=received).facts[0].signature_valid
        totals = {"edxml": 0.0, "json": 0.0}
        ratios = []
        for first in range(0, count, ROUND):
            batch = range(first, min(first + ROUND, count))
            start = time.perf_counter()
            for i in batch:
                read_edxml(xmls[i], trust, received_at=received)
            middle = time.perf_counter()
            for i in batch:
                verify_package(parse_package(jsons[i]), trust, received_at=received)
            end = time.perf_counter()
            totals["edxml"] += middle - start
            totals["json"] += end - middle
            ratios.append((middle - start) / (end - middle))
    edxml_rate, json_rate = count / totals["edxml"], count / totals["json"]
    size_x = sum(map(len, xmls)) / count / 1e6
    size_j = sum(map(len, jsons)) / count / 1e6
    print(f"edXML documents parsed+validated+verified/s: {edxml_rate:7.1f}  ({size_x:.2f} MB each)")
    print(f"JSON packages parsed+verified/s:             {json_rate:7.1f}  ({size_j:.2f} MB each)")
    print(
        f"JSON/edXML throughput ratio: {json_rate / edxml_rate:.2f}"
        f" (median round {statistics.median(ratios):.2f}); {count} documents each"
    )
    print(f"load after:  {uptime()}")


# -- the ingest rate through a running hub ---------------------------------------------

_org_signers: dict[str, tuple[object, object]] = {}


def _load_org_signers(pki: str) -> None:
    from bench.ingest import SENDERS
    from signing.certs import load_certificate
    from signing.keys import load_private_key

    for code in SENDERS:
        _org_signers[code] = (
            load_private_key(Path(pki) / f"{code}.org.key"),
            [
                load_certificate(Path(pki) / f"{code}.org.crt"),
                load_certificate(Path(pki) / "ca.crt"),
            ],
        )


def _pool_line(args: tuple[int, str]) -> str:
    """One unique document, organisation-signed, as `sender index TAB body` on one line."""
    from bench.ingest import ATTACHMENT_BYTES, RECIPIENTS, SENDERS

    number, wire_format = args
    index = number % len(SENDERS)
    key, chain = _org_signers[SENDERS[index]]
    files = [("qd.pdf", "application/pdf", os.urandom(ATTACHMENT_BYTES))]
    pkg = new_package(SENDERS[index], RECIPIENTS[:3], HEADER, files)
    if wire_format == "json":
        body = package_json(sign_package(pkg, key, chain, "organization"))  # type: ignore[arg-type]
    else:
        when = dt.datetime.now(VIETNAM_TZ).replace(microsecond=0) - dt.timedelta(seconds=5)
        body = sign_envelope(package_to_edxml(pkg, timestamp=when), key, chain)  # type: ignore[arg-type]
        # one line for wrk: no line break after the declaration (outside the document),
        # the others as character references (the same text for the parser and the signature)
        body = body.replace(b"?>\n", b"?>", 1).replace(b"\n", b"&#10;")
    return f"{index}\t{body.decode()}"


def write_pool(pki: Path, path: Path, count: int, wire_format: str) -> None:
    with ProcessPoolExecutor(
        os.cpu_count() or 2, initializer=_load_org_signers, initargs=(str(pki),)
    ) as pool:
        lines = pool.map(_pool_line, [(n, wire_format) for n in range(count)], chunksize=50)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _wrk(url: str, script: Path, pool: Path, tokens: Path, duration: int, media: str) -> list[int]:
    command = [
        "wrk", "-t", "2", "-c", "32", "-d", f"{duration}s", "--timeout", "10s",
        "-s", str(script), url, "--", str(pool), "2", "0", str(tokens), media,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in output.splitlines() if text.startswith("RESULT "))
    return [int(value) for value in line.split()[1:]]


def ingest(args: argparse.Namespace) -> None:
    """edXML and JSON submissions accepted per second by one hub worker, alternating runs."""
    from bench import common
    from bench import ingest as bench_ingest

    print(f"\n-- ingest through a running hub; load before: {uptime()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pki = tmp / "pki"
        ca = bench_ingest.make_pki(pki)
        script = tmp / "load.lua"
        script.write_text(bench_ingest.WRK_SCRIPT.read_text(encoding="utf-8"))
        size = args.pool
        started = time.monotonic()
        pools = {kind: tmp / f"pool-{kind}.txt" for kind in ("edxml", "json")}
        for kind, path in pools.items():
            write_pool(pki, path, size, kind)
        sizes = {
            kind: len(path.open(encoding="utf-8").readline().split("\t", 1)[1].encode())
            for kind, path in pools.items()
        }
        print(
            f"pre-signed {size} documents per format in {time.monotonic() - started:.0f} s "
            f"(edXML ~{sizes['edxml'] / 1024:.1f} KB, JSON ~{sizes['json'] / 1024:.1f} KB)"
        )
        env = dict(os.environ, PYTHONPATH=str(common.ROOT))
        media = {"edxml": "application/xml", "json": "application/json"}
        for kind_db, url in bench_ingest.databases(tmp, args):
            asyncio.run(bench_ingest.prepare_database(url, pki, ca))
            hub_env = dict(env, LIENTHONG_DATABASE_URL=url, LIENTHONG_PKI_DIR=str(pki),
                           LIENTHONG_DATA_DIR=str(tmp / kind_db),
                           LIENTHONG_HUB_ID=common.HUB_ID,
                           LIENTHONG_LOG_LEVEL="WARNING")  # fmt: skip
            port = common.free_port()
            command = [sys.executable, "-m", "lienthong", "hub", "serve", "--port", str(port),
                       "--workers", "1", "--log-level", "warning"]  # fmt: skip
            accepted = {"edxml": 0, "json": 0}
            seconds = {"edxml": 0.0, "json": 0.0}
            other = {"edxml": 0, "json": 0}
            with common.server(command, hub_env, port) as hub_url:
                tokens = bench_ingest.tokens_file(pki, tmp / "tokens.txt")
                # each run takes its own slice of its format's pool: every document is new
                slices = {
                    kind: pools[kind].read_text(encoding="utf-8").splitlines() for kind in pools
                }
                per_run = size // args.rounds
                for round_number in range(args.rounds):
                    for kind in ("edxml", "json"):
                        part = slices[kind][round_number * per_run : (round_number + 1) * per_run]
                        rest = tmp / f"run-{kind}.txt"
                        rest.write_text("\n".join(part) + "\n", encoding="utf-8")
                        numbers = _wrk(hub_url, script, rest, tokens, args.duration, media[kind])
                        _, micros, ok, bad, wrapped = numbers[:5]
                        accepted[kind] += ok
                        other[kind] += bad
                        seconds[kind] += micros / 1e6
                        if wrapped:
                            print(f"  (the {kind} pool wrapped: raise --pool)")
            rates = {kind: accepted[kind] / seconds[kind] for kind in accepted}
            print(
                f"hub/{kind_db}, one worker, {args.rounds} x {args.duration} s per format: "
                f"edXML {rates['edxml']:7.1f} accepted/s, JSON {rates['json']:7.1f} accepted/s, "
                f"JSON/edXML {rates['json'] / rates['edxml']:.2f}"
                + (f"  (not 202: edXML {other['edxml']}, JSON {other['json']})"
                   if other["edxml"] or other["json"] else "")
            )  # fmt: skip
    print(f"load after:  {uptime()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="1 MB documents parsed per format")
    parser.add_argument("--no-ingest", action="store_true", help="skip the running hub")
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per format, alternating")
    parser.add_argument("--pool", type=int, default=8000, help="documents pre-signed per format")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--postgres-url", default=None)
    options = parser.parse_args()
    main(options.count)
    if not options.no_ingest:
        ingest(options)
