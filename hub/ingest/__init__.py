"""Submission (`POST /v1/documents`): checks, verdict, acceptance policy, group commit, receipts.

`service.Ingest` is the entry point; `checks` refuses what is wrong before
anything is written and `prepare` turns a body into what the writer stores
(`edxml` reads an edXML envelope, `pdfs` the principal PDF in worker
processes); `writer` commits batches of accepted packages that
`batcher.GroupCommit` gathers; `policy` decides per recipient; `receipts`
signs and reads the hub's receipts.
"""

__all__ = [
    "batcher",
    "checks",
    "edxml",
    "pdfs",
    "policy",
    "prepare",
    "receipts",
    "service",
    "writer",
]
