"""Alerts: conditions an operator must hear about, logged, exported and sent to a webhook."""

__all__ = ["conditions", "job"]
