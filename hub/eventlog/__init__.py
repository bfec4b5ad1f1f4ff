"""The hash-chained event log: appending (`chain`), sealing and signing heads (`sealer`),
exporting (`export`), the last signed head (`heads`), proving an export offline (`verify`),
the registry's history with its place in the log (`history`), and serving the signed
head and inclusion proofs (`proofs`); `cli` is `lienthong log export|verify`."""

__all__ = ["chain", "cli", "export", "heads", "history", "proofs", "sealer", "verify"]
