"""A member's everyday calls from a shell: `lienthong token|trace|status|recall`, and
`lienthong log prove`.

Each acts as the member whose keys are in `--keys DIR` (the node's layout,
`member_node.identity`; the agency code is read from `org.crt`) against the hub
at `--hub` (default: where `lienthong hub serve` listens). Errors are one line
on stderr: exit 1 for the hub's refusals (with its problem code), 2 for bad
input or keys.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from member_node.defaults import DEFAULT_HUB_ID, DEFAULT_HUB_URL

INT64_MAX = 2**63 - 1
"""The largest entry number the hub takes."""

if TYPE_CHECKING:
    from hub.protocol import LogInclusionProof, Trace
    from member_node.client import HubClient
    from member_node.identity import NodeIdentity

Keys = Annotated[
    Path,
    typer.Option(
        "--keys",
        envvar="LIENTHONG_KEYS",
        help="The member's keys directory: org.key, org.crt, hub.crt, ca.crt (official.* too)",
    ),
]
Hub = Annotated[str, typer.Option("--hub", envvar="LIENTHONG_HUB_URL", help="The hub's base URL")]
HubId = Annotated[
    str, typer.Option("--hub-id", envvar="LIENTHONG_HUB_ID", help="The hub's id (token aud)")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the hub's answer as JSON")]
DocumentId = Annotated[str, typer.Argument(help="The document (package) id")]
PostedCode = Literal["01", "02", "03", "04", "05", "06", "15", "16"]
"""What a recipient may post (13 is the hub's, on a recall)."""
MEANINGS = {
    "01": "arrived",
    "02": "rejected",
    "03": "accepted",
    "04": "assigned",
    "05": "processing",
    "06": "completed",
    "13": "recalled by the sender",
    "15": "recall agreed",
    "16": "recall refused",
}


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _identity(keys: Path) -> NodeIdentity:
    from member_node.identity import IdentityError, NodeIdentity

    try:
        return NodeIdentity.load(keys)
    except IdentityError as exc:
        raise _fail(str(exc)) from exc


def _call(hub: str, keys: Path, hub_id: str, work: Any) -> Any:
    """Run `work(client)` as the member of `keys`; hub errors become one line and exit 1."""
    from member_node.client import HubClient
    from member_node.errors import HubError

    identity = _identity(keys)

    async def run() -> Any:
        async with HubClient(hub, identity, hub_id=hub_id) as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except HubError as exc:
        raise _fail(f"{exc.code}: {exc.detail}", 1) from exc


def token(
    keys: Keys,
    hub_id: HubId = DEFAULT_HUB_ID,
    lifetime: Annotated[int, typer.Option(min=1, max=300, help="Seconds it stays valid")] = 300,
) -> None:
    """Print a member bearer token (JWT: iss = the agency code, aud = the hub id)."""
    from signing.jose import mint_token

    identity = _identity(keys)
    signer = identity.organization
    typer.echo(mint_token(signer.key, signer.certificate, identity.code, hub_id, lifetime))


def trace(
    document_id: DocumentId,
    keys: Keys,
    hub: Hub = DEFAULT_HUB_URL,
    hub_id: HubId = DEFAULT_HUB_ID,
    wait: Annotated[
        bool, typer.Option("--wait", help="First wait until no delivery is still queued")
    ] = False,
    timeout: Annotated[float, typer.Option(help="How long --wait may take, in seconds")] = 60.0,
    as_json: AsJson = False,
) -> None:
    """A document's journey: its verdict, each recipient's state, statuses and attempts."""

    async def work(client: HubClient) -> Trace:
        deadline = time.monotonic() + timeout
        while True:
            found = await client.trace(document_id)
            queued = any(d.state == "queued" for d in found.deliveries)
            if not wait or not queued or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.5)

    found: Trace = _call(hub, keys, hub_id, work)
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
        return
    verdict = found.verdict
    typer.echo(f"document {found.document_id} from {found.sender}")
    typer.echo(f"  received {found.received_at.isoformat()}")
    typer.echo(
        "  verdict  compliant"
        if verdict.compliant
        else "  verdict  NOT compliant: " + ", ".join(verdict.violations)
    )
    if found.recalled_at is not None:
        typer.echo(f"  recalled {found.recalled_at.isoformat()}")
    for delivery in found.deliveries:
        delivered = delivery.delivered_at.isoformat() if delivery.delivered_at else "not yet"
        typer.echo(
            f"  {delivery.recipient}  {delivery.state.value}  (delivered: {delivered}; "
            f"attempts: {delivery.attempts})"
        )
        for status in delivery.statuses:
            reason = f": {status.reason}" if status.reason else ""
            meaning = MEANINGS.get(status.code.value, "")
            typer.echo(f"    {status.code.value} {meaning}  {status.at.isoformat()}{reason}")
    if wait and any(d.state == "queued" for d in found.deliveries):
        raise _fail(f"still queued after {timeout:.0f} s", 1)


def status(
    document_id: DocumentId,
    code: Annotated[
        PostedCode,
        typer.Argument(
            help="01 arrived, 02 rejected (needs --reason), 03 accepted, 04 assigned, "
            "05 processing, 06 completed; 15/16 agree to / refuse a recall"
        ),
    ],
    keys: Keys,
    reason: Annotated[str | None, typer.Option(help="Why (required for 02)")] = None,
    hub: Hub = DEFAULT_HUB_URL,
    hub_id: HubId = DEFAULT_HUB_ID,
    as_json: AsJson = False,
) -> None:
    """Tell the sender where its document stands (as a recipient)."""
    if code == "02" and not (reason or "").strip():
        raise _fail("a rejection (02) needs --reason")

    async def work(client: HubClient) -> Any:
        return await client.post_status(document_id, code, reason=reason)

    entry = _call(hub, keys, hub_id, work)
    if as_json:
        typer.echo(entry.model_dump_json(indent=2))
        return
    typer.echo(
        f"{document_id}: {code} {MEANINGS[code]} recorded at {entry.recorded_at.isoformat()}"
    )


def recall(
    document_id: DocumentId,
    keys: Keys,
    hub: Hub = DEFAULT_HUB_URL,
    hub_id: HubId = DEFAULT_HUB_ID,
    as_json: AsJson = False,
) -> None:
    """Recall a document (as its sender): every recipient gets status 13."""

    async def work(client: HubClient) -> Trace:
        return await client.recall(document_id)

    found: Trace = _call(hub, keys, hub_id, work)
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
        return
    typer.echo(f"{document_id}: recalled; each recipient answers 15 (agreed) or 16 (refused)")
    for delivery in found.deliveries:
        typer.echo(f"  {delivery.recipient}  {delivery.state.value}")


__all__ = ["MEANINGS", "PostedCode", "recall", "status", "token", "trace"]


def prove(
    seq: Annotated[str, typer.Argument(metavar="SEQ", help="The entry's number (its `seq`)")],
    keys: Keys,
    hub: Hub = DEFAULT_HUB_URL,
    hub_id: HubId = DEFAULT_HUB_ID,
    as_json: AsJson = False,
) -> None:
    """Prove an event-log entry about this member: fetch its inclusion proof and check it
    against the pinned hub certificate (docs/EVENTLOG.md). Exit 1 when the hub refuses or
    the proof does not hold, with its code."""
    if not seq.isdigit() or not 1 <= int(seq) <= INT64_MAX:
        raise _fail(f"SEQ must be an entry number from 1 to {INT64_MAX}, not {seq!r}")

    async def work(client: HubClient) -> LogInclusionProof:
        return await client.eventlog_proof(int(seq))

    proof: LogInclusionProof = _call(hub, keys, hub_id, work)
    if as_json:
        typer.echo(proof.model_dump_json(indent=2))
        return
    entry, head = proof.entry, proof.head
    typer.echo(f"entry {entry.seq} {entry.kind} {entry.subject} at {entry.at}")
    segment = f"{head.first_seq}..{head.seq}"
    typer.echo(
        f"  proved in the head signed at {head.signed_at.isoformat()} over entries {segment}:"
        f" leaf {proof.leaf_index} of {proof.tree_size}, {len(proof.path)} hashes"
    )
