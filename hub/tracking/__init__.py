"""What happened to a document after acceptance: recipients' statuses, recall, the trace."""

__all__ = ["documents", "recall", "statuses", "trace"]
