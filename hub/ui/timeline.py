"""A document's trace as one timeline: submission, verdict, each attempt, each status.

Each event keeps a stable English `what` (`status 01`, `attempt 2`) for
searching and tests, beside the Vietnamese words the operator reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.protocol import RecipientOutcome, Trace
from hub.ui.labels import outcome_label, status_label, violation_label

__all__ = ["ATTEMPT_OUTCOMES", "Event", "timeline"]

ATTEMPT_OUTCOMES = {
    "delivered": "đã chuyển",
    "acknowledged": "nơi nhận xác nhận đã lấy",
    "leased": "nơi nhận đang lấy",
    "error": "lỗi, sẽ thử lại",
    "failed": "lỗi, ngừng thử",
}
"""What an attempt's outcome means in words; an unknown outcome is shown as it is."""


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    """Stable, English: `submitted`, `verdict`, `refused`, `attempt N`, `status NN`, `recall`."""
    label: str
    """What the operator reads."""
    member: str = ""
    """The member the event is about: the sender for the submission, else a recipient."""
    detail: str = ""


def _verdict(trace: Trace) -> str:
    if trace.verdict.compliant:
        return "tuân thủ (compliant)"
    return "vi phạm: " + "; ".join(violation_label(v) for v in trace.verdict.violations)


def timeline(trace: Trace) -> list[Event]:
    """Every event of the trace, oldest first (submission and verdict first of all)."""
    events = [
        Event(trace.received_at, "submitted", "Tiếp nhận (submitted)", trace.sender),
        Event(trace.received_at, "verdict", "Kết luận kiểm tra (verdict)", "", _verdict(trace)),
    ]
    for d in trace.deliveries:
        who = d.recipient
        if d.outcome != RecipientOutcome.ACCEPTED:
            why = "; ".join(violation_label(r) for r in d.reasons)
            events.append(Event(trace.received_at, "refused", outcome_label(d.outcome), who, why))
        events.extend(
            Event(
                a.started_at, f"attempt {a.attempt}",
                f"Lần chuyển {a.attempt}: {ATTEMPT_OUTCOMES.get(a.outcome, a.outcome)} "
                f"({a.outcome})", who, a.detail or "",
            )
            for a in d.attempt_log
        )  # fmt: skip
        events.extend(
            Event(
                s.recorded_at, f"status {s.code.value}", status_label(s.code), who, s.reason or ""
            )
            for s in d.statuses
        )
    if trace.recalled_at is not None:
        events.append(Event(trace.recalled_at, "recall", "Đơn vị gửi thu hồi (recall)"))
    return sorted(events, key=lambda e: e.at)
