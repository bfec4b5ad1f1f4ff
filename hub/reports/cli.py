"""`lienthong report compliance|delivery`: the reports from the database, for the terminal."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from hub.reports.filters import ReportFilter

# The reports' modules (SQLAlchemy) are imported inside the commands: `--help` stays fast.

report_app = typer.Typer(help="Compliance and delivery reports.", no_args_is_help=True)


class Group(StrEnum):
    """`hub.reports.filters.Grouping`, without importing the database layer for `--help`."""

    SENDER = "sender"
    PARENT = "parent"
    DAY = "day"


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


Since = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day (VN)")]
Until = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (VN)")]
Recipient = Annotated[str | None, typer.Option(help="Only documents sent to this member")]
Sender = Annotated[str | None, typer.Option(help="A member and everything under it")]
DocType = Annotated[str | None, typer.Option("--type", help="Document type code, e.g. QD")]
FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv")]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="Default: LIENTHONG_DATABASE_URL or the data directory")
]


def _filter(
    since: datetime | None, until: datetime | None, recipient: str | None, sender: str | None,
    doc_type: str | None,
) -> ReportFilter:  # fmt: skip
    from hub.reports.filters import ReportFilter

    def day(value: datetime | None) -> date | None:
        return value.date() if value is not None else None

    return ReportFilter(day(since), day(until), recipient, sender, doc_type)


async def _run(url: str | None, job: Any) -> Any:
    from hub.settings import HubSettings
    from registry.db import assert_migrated, create_engine, session_factory

    engine = create_engine(url or HubSettings().resolved_database_url())
    try:
        await assert_migrated(engine)
        async with session_factory(engine)() as session:
            return await job(session)
    finally:
        await engine.dispose()


def _execute(url: str | None, job: Any) -> Any:
    from registry.db import NotMigratedError
    from registry.problems import Problem

    try:
        return asyncio.run(_run(url, job))
    except Problem as exc:
        typer.secho(f"error: {exc.detail} ({exc.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except NotMigratedError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@report_app.command("compliance")
def compliance(
    since: Since = None,
    until: Until = None,
    recipient: Recipient = None,
    sender: Sender = None,
    doc_type: DocType = None,
    group: Annotated[Group, typer.Option(help="sender, parent or day")] = Group.SENDER,
    format: FormatOption = Format.TABLE,
    database_url: DatabaseUrl = None,
) -> None:
    """Per sender: documents, signed (in the PDF only, on the envelope only, both), valid
    personal/organisation signatures, compliant."""
    from hub.reports.compliance import compliance_report
    from hub.reports.filters import Grouping
    from hub.reports.render import compliance_csv, table

    flt = _filter(since, until, recipient, sender, doc_type)
    grouping = Grouping(group.value)
    report = _execute(database_url, lambda s: compliance_report(s, flt, grouping))
    if format is Format.JSON:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    elif format is Format.CSV:
        typer.echo(compliance_csv(report), nl=False)
    else:
        rows = [r.as_dict() for r in [*report.rows, report.total]]
        typer.echo(
            table(
                [
                    "key",
                    "name",
                    "docs",
                    "signed",
                    "personal",
                    "org",
                    "compliant",
                    "signed%",
                    "pdf only",
                    "envelope only",
                    "both",
                    "compliant%",
                    "violations",
                ],
                [
                    [
                        r["key"],
                        r["name"],
                        r["documents"],
                        r["signed"],
                        r["personal_ok"],
                        r["org_ok"],
                        r["compliant"],
                        f"{r['signed_share']:.1%}",
                        r["signed_in"]["pdf_only"],
                        r["signed_in"]["envelope_only"],
                        r["signed_in"]["both"],
                        f"{r['compliant_share']:.1%}",
                        " ".join(f"{c}={n}" for c, n in r["violations"].items() if n),
                    ]
                    for r in rows
                ],
            )
        )


@report_app.command("delivery")
def delivery(
    since: Since = None,
    until: Until = None,
    recipient: Recipient = None,
    sender: Sender = None,
    doc_type: DocType = None,
    format: FormatOption = Format.TABLE,
    database_url: DatabaseUrl = None,
) -> None:
    """Per recipient: delivered, pending, failed, latency, statuses, overdue receipts."""
    from hub.reports.delivery import PERCENTILES, delivery_report
    from hub.reports.render import delivery_csv, table

    flt = _filter(since, until, recipient, sender, doc_type)
    report = _execute(database_url, lambda s: delivery_report(s, flt))
    if format is Format.JSON:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    elif format is Format.CSV:
        typer.echo(delivery_csv(report), nl=False)
    else:
        typer.echo(
            table(
                [
                    "recipient",
                    "name",
                    "total",
                    "delivered",
                    "pending",
                    "failed",
                    "overdue",
                    *(f"p{p} s" for p in PERCENTILES),
                ],
                [
                    [
                        r.recipient,
                        r.name,
                        r.deliveries,
                        r.delivered,
                        r.pending,
                        r.failed,
                        r.overdue_receipts,
                        *r.latency_seconds.values(),
                    ]
                    for r in report.recipients
                ],
            )
        )
        typer.echo()
        typer.echo(
            table(
                ["sender", "name", "documents", "late dispatch"],
                [[s.sender, s.name, s.documents, s.late_dispatch] for s in report.senders],
            )
        )
