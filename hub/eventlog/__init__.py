"""The hash-chained event log: appending (`chain`), sealing and signing heads (`sealer`),
exporting (`export`), proving an export offline (`verify`) and serving
the signed head and inclusion proofs (`proofs`)."""

__all__ = ["chain", "export", "proofs", "sealer", "verify"]
