"""Getting documents and statuses to members: push, pull, their claims, receipts and redrive.

`worker` pushes (documents to `{endpoint}/v1/inbox`, statuses to
`/v1/status`); `outbox` claims due jobs; `inbox` serves pull members;
`member_receipts` checks the receipts members sign; `queue` answers which
deliveries wait or failed; `redrive` requeues what failed.
"""

__all__ = ["inbox", "member_receipts", "outbox", "queue", "redrive", "worker"]
