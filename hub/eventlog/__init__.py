"""The hash-chained event log: appending (`chain`), sealing and signing heads (`sealer`),
exporting (`export`) and proving an export offline (`verify`)."""

__all__ = ["chain", "export", "sealer", "verify"]
