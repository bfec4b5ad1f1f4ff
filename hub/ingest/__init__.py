"""Submission (`POST /v1/documents`): checks, verdict, acceptance policy, group commit, receipts.

`service.Ingest` is the entry point; `writer` commits batches of accepted
packages that `batcher.GroupCommit` gathers; `policy` decides per recipient;
`receipts` signs and reads the hub's receipts.
"""

__all__ = ["batcher", "policy", "receipts", "service", "writer"]
