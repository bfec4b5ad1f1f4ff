"""Operator reports: signature compliance per sender, delivery health per recipient.

Both are SQL aggregates over narrow tables (`report_facts`, `deliveries`), so
their cost grows with the number of senders and recipients shown, not with the
number of documents loaded into Python (none are).
"""

__all__ = [
    "activity",
    "cli",
    "compliance",
    "counters",
    "delivery",
    "facts",
    "filters",
    "models",
    "render",
]
