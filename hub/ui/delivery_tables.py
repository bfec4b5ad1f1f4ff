"""The delivery page's five tables: their columns, each table's own sort parameter, and
the order of the rows drawn from the delivery report.

The troubled recipients and their failed deliveries come from SQL, sorted there
(`hub.delivery.queue`); latency, recipients and late senders are rows of the
delivery report, sorted here. Each table has its own parameter, so sorting one
keeps the others as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from hub.delivery.queue import FAILED_SORT_COLUMNS, TROUBLE_SORT_COLUMNS
from hub.reports.delivery import STATUS_STATES, DeliveryReport, RecipientRow, SenderRow
from hub.ui.sorting import Sort, parse_sort, sort_rows

__all__ = [
    "LATENCY_KEYS",
    "LATE_KEYS",
    "RECIPIENT_KEYS",
    "DeliverySorts",
    "delivery_sorts",
    "late_rows",
    "latency_rows",
]


def _status(code: str) -> Callable[[RecipientRow], int]:
    return lambda r: r.statuses.get(code, 0)


def _percentile(name: str) -> Callable[[RecipientRow], float | None]:
    return lambda r: r.latency_seconds.get(name)


RECIPIENT_KEYS: dict[str, Callable[[RecipientRow], Any]] = {
    "recipient": lambda r: r.recipient,
    "name": lambda r: r.name.casefold(),
    "deliveries": lambda r: r.deliveries,
    "delivered": lambda r: r.delivered,
    "pending": lambda r: r.pending,
    "failed": lambda r: r.failed,
    "refused": lambda r: r.refused,
    "overdue_receipts": lambda r: r.overdue_receipts,
    **{f"status_{code}": _status(code) for code in STATUS_STATES},
}
"""The per-recipient table's columns and how each sorts (`status_01`: how many are now at
status 01); the table is paged, the CSV (`/ui/delivery.csv`) has every row."""


LATENCY_KEYS: dict[str, Callable[[RecipientRow], Any]] = {
    "recipient": lambda r: r.recipient,
    "name": lambda r: r.name.casefold(),
    "delivered": lambda r: r.delivered,
    **{k: _percentile(k) for k in ("p50", "p90", "p95", "p99")},
}
"""The latency table's columns; a percentile not known sorts last either way."""
LATE_KEYS: dict[str, Callable[[SenderRow], Any]] = {
    "sender": lambda s: s.sender,
    "name": lambda s: s.name.casefold(),
    "documents": lambda s: s.documents,
    "late_dispatch": lambda s: s.late_dispatch,
}


@dataclass(frozen=True)
class DeliverySorts:
    """Each table's order, from its own parameter."""

    trouble: Sort
    failed: Sort
    latency: Sort
    recipients: Sort
    late: Sort


def delivery_sorts(request: Request) -> DeliverySorts:
    """The five tables' orders; the per-recipient table keeps the page's `sort` and `offset`."""

    def own(name: str, columns: Any) -> Sort:
        return parse_sort(request, columns, param=f"{name}_sort", offset_param=f"{name}_offset")

    return DeliverySorts(
        trouble=own("trouble", TROUBLE_SORT_COLUMNS),
        failed=own("failed", FAILED_SORT_COLUMNS),
        latency=own("latency", LATENCY_KEYS),
        recipients=parse_sort(request, RECIPIENT_KEYS, "recipient"),
        late=own("late", LATE_KEYS),
    )


def latency_rows(report: DeliveryReport, sort: Sort | None = None) -> list[RecipientRow]:
    """Recipients with delivered documents: the slowest p90 first, or in `sort` order
    (then by recipient)."""
    rows = sorted(
        (r for r in report.recipients if r.latency_seconds.get("p50") is not None),
        key=lambda r: (-(r.latency_seconds.get("p90") or 0.0), r.recipient),
    )
    if sort is None or not sort.column:
        return rows
    return sort_rows(sort, LATENCY_KEYS, sorted(rows, key=lambda r: r.recipient))


def late_rows(report: DeliveryReport, sort: Sort) -> list[SenderRow]:
    """Senders that dispatched late: the most often late first, or in `sort` order (then
    by sender)."""
    late = sorted(
        (s for s in report.senders if s.late_dispatch), key=lambda s: (-s.late_dispatch, s.sender)
    )
    if not sort.column:
        return late
    return sort_rows(sort, LATE_KEYS, sorted(late, key=lambda s: s.sender))
