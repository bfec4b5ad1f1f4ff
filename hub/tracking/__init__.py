"""What happened to a document after acceptance: recipients' statuses, recall, the trace."""

__all__ = ["documents", "export", "recall", "receipts", "search", "statuses", "trace"]
