"""The hash-chained event log: appending (`chain`), sealing and signing heads (`sealer`),
exporting (`export`), the last signed head (`heads`), proving an export offline (`verify`),
and the registry's history with its place in the log (`history`)."""

__all__ = ["chain", "export", "heads", "history", "sealer", "verify"]
