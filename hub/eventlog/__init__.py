"""The hash-chained event log: appending (`chain`), sealing and signing heads (`sealer`),
exporting (`export`), the last signed head (`heads`) and proving an export offline (`verify`)."""

__all__ = ["chain", "export", "heads", "sealer", "verify"]
