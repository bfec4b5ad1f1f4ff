"""Getting documents and statuses to members: push, pull, their claims, receipts and redrive.

`worker` pushes (documents to `{endpoint}/v1/inbox`, statuses to
`/v1/status`) through `fanout` (the scheduler and the senders), each push one
bounded POST (`pusher`), and writes what they came to (`outcomes`); `outbox`
claims due jobs and `jobs` builds what each carries (JSON or edXML); `inbox`
serves pull members; `arrivals` holds their long polls;
`member_receipts` checks the receipts members sign; `queue` answers which
deliveries wait or failed and `health` sums the queue up; `redrive` requeues what failed,
and `cli` is its command (`lienthong hub redrive`).
"""

__all__ = [
    "arrivals",
    "cli",
    "fanout",
    "health",
    "inbox",
    "jobs",
    "member_receipts",
    "outbox",
    "outcomes",
    "pusher",
    "queue",
    "redrive",
    "worker",
]
