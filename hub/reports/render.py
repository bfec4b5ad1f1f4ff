"""Reports as CSV: one flat row per line, the same figures as the JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from hub.reports.compliance import ComplianceReport
from hub.reports.delivery import PERCENTILES, STATUS_STATES, DeliveryReport
from hub.reports.facts import VIOLATION_CODES
from hub.reports.filters import ReportFilter

COMPLIANCE_COLUMNS = [
    "key",
    "name",
    "documents",
    "signed",
    "personal_ok",
    "org_ok",
    "compliant",
    "signed_share",
    "personal_ok_share",
    "org_ok_share",
    "compliant_share",
    "signed_pdf_only",
    "signed_envelope_only",
    "signed_both",
    "signed_pdf_only_share",
    "signed_envelope_only_share",
    "signed_both_share",
    *VIOLATION_CODES,
    "updates",
    "replacements",
]
DELIVERY_COLUMNS = [
    "section",
    "code",
    "name",
    "deliveries",
    "delivered",
    "pending",
    "failed",
    "refused",
    "overdue_receipts",
    *(f"status_{code}" for code in STATUS_STATES),
    *(f"latency_p{p}_seconds" for p in PERCENTILES),
    "documents",
    "late_dispatch",
]


CSV_BOM = "\ufeff"
"""Leads every CSV answer: Excel reads a CSV without it in the machine's code page, not
UTF-8, and garbles the Vietnamese names; other readers skip it (`utf-8-sig`)."""


def csv_filename(report: str, flt: ReportFilter) -> str:
    """`signature-compliance.csv`, with the period when one is given
    (`delivery_2024-01-01_2024-01-31.csv`); ASCII only, so no header encoding is needed."""
    period = "_".join(str(day) for day in (flt.since, flt.until) if day is not None)
    return f"{report}_{period}.csv" if period else f"{report}.csv"


def _csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def compliance_csv(report: ComplianceReport) -> str:
    nested = {"violations", "signed_in", "signed_in_share"}

    def flat(row: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: v for k, v in row.items() if k not in nested},
            **{f"signed_{k}": v for k, v in row["signed_in"].items()},
            **{f"signed_{k}_share": v for k, v in row["signed_in_share"].items()},
            **row["violations"],
        }

    data = report.as_dict()
    return _csv(COMPLIANCE_COLUMNS, [flat(r) for r in [*data["rows"], data["total"]]])


def delivery_csv(report: DeliveryReport) -> str:
    rows: list[dict[str, Any]] = []
    for r in report.as_dict()["recipients"]:
        rows.append(
            {
                "section": "recipient",
                "code": r["recipient"],
                **{k: v for k, v in r.items() if k not in {"recipient", "statuses"}},
                **{f"status_{k}": v for k, v in r["statuses"].items()},
                **{f"latency_{k}_seconds": v for k, v in r["latency_seconds"].items()},
            }
        )
    for s in report.as_dict()["senders"]:
        rows.append({"section": "sender", "code": s["sender"], **s})
    return _csv(DELIVERY_COLUMNS, rows)


def table(columns: list[str], rows: list[list[Any]]) -> str:
    """A plain text table for the terminal."""
    cells = [[str(c) for c in columns], *[["" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)
