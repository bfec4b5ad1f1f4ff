"""`/v1/eventlog`: the event log's latest signed head, and proofs that an entry is in it."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Path, Query

from hub.api.callers import MEMBER_OR_OPERATOR, member_or_auditor
from hub.context import HubContext, hub_context
from hub.eventlog import proofs
from hub.protocol import LogEntries, LogHead, LogInclusionProof
from registry.db import INT64_MAX
from registry.problems import problems

__all__ = ["router"]

router = APIRouter(prefix="/v1/eventlog", tags=["event log"])


@router.get(
    "/head",
    response_model=LogHead,
    responses=problems(401, 403, 404),
    openapi_extra=MEMBER_OR_OPERATOR,
    summary="The latest signed head of the event log",
)
async def head(
    member: str | None = Depends(member_or_auditor),
    context: HubContext = Depends(hub_context),
) -> LogHead:
    """The hub's latest signed statement that its log holds entries 1..`seq`, ending in
    `hash`. Verify `jws` with the hub certificate and keep it: a later head must extend
    the same chain. Members, auditors and admins may read it; `404 eventlog_no_head`
    before the hub has signed one."""
    async with context.sessions() as session:
        return await proofs.signed_head(session)


@router.get(
    "/entries",
    response_model=LogEntries,
    responses=problems(401, 403),
    openapi_extra=MEMBER_OR_OPERATOR,
    summary="The entries about a document or a member",
)
async def entries(
    subject: str = Query(
        min_length=1, max_length=200, description="A document id, or an agency code"
    ),
    after: int = Query(0, ge=0, le=INT64_MAX, description="The last `seq` already read"),
    limit: int = Query(100, ge=1, le=1000),
    member: str | None = Depends(member_or_auditor),
    context: HubContext = Depends(hub_context),
) -> LogEntries:
    """The sealed entries about `subject`, in log order, with their `seq`: what to ask a
    proof of (`GET /v1/eventlog/entries/{n}/proof`). A member reads those it may prove (its
    documents, its own lines of documents sent to it, registry changes to itself; an
    empty page for anything else), auditors and admins every entry."""
    async with context.sessions() as session:
        return await proofs.entries_about(session, subject, member=member, after=after, limit=limit)


@router.get(
    "/entries/{n}/proof",
    response_model=LogInclusionProof,
    responses=problems(401, 403, 404, 409),
    openapi_extra=MEMBER_OR_OPERATOR,
    summary="Prove that an entry is in a signed head",
)
async def proof(
    n: int = Path(ge=1, le=INT64_MAX, description="The entry's sequence number"),
    member: str | None = Depends(member_or_auditor),
    context: HubContext = Depends(hub_context),
) -> LogInclusionProof:
    """Entry `n`, the first signed head covering it, and the Merkle audit path from the
    entry's hash to the head's `entries_root` (docs/EVENTLOG.md shows the check).

    A member gets proofs of the entries about itself (its documents, its own lines of
    documents sent to it, registry changes to it), auditors and admins of any entry;
    `404 eventlog_entry_not_found` otherwise. `409 eventlog_entry_unsigned` (with
    `Retry-After`): the entry is sealed but no head covers it yet."""
    async with context.sessions() as session:
        return await proofs.inclusion_proof(
            session,
            n,
            member=member,
            retry_after=math.ceil(context.settings.eventlog_head_every_seconds),
        )
