"""edXML documents read per second next to JSON packages of the same content.

Each document: one 1 MB PDF attachment (random bytes) and one organisation
signature (XML-DSig on the edXML envelope, JWS in the JSON package). edXML:
`read_edxml` (safe parse, our XSD, signature form, mapping to the package,
XML-DSig verification, chain check). JSON: `parse_package` then
`verify_package`, the hub's JSON path. Both run in interleaved rounds in the
same process, so they share the machine's load, which is printed (`uptime`)
before and after. Nothing is asserted. Run: `.venv/bin/python -m bench.edxml`.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time

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


def _load() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "uptime unavailable: load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main(count: int = 40) -> None:
    print(f"load before: {_load()}")
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
    print(f"load after:  {_load()}")


if __name__ == "__main__":
    main()
