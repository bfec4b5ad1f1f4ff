"""What the hub calls on a node: `POST /v1/inbox` (a document) and `POST /v1/status`.

Both are authenticated by the hub's bearer JWT (`iss` the hub id, `aud` this
node's code), checked against the hub certificate of the verified directory.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from hub.protocol import InboxDelivery, StatusUpdate
from member_node.context import NodeContext, node_context
from member_node.directory import Directory
from member_node.errors import HubError
from member_node.problems import NodeProblem
from member_node.receiver import DeliveryRefused
from signing.jose import JoseError, verify_token

router = APIRouter(prefix="/v1", tags=["from the hub"])


async def hub_directory(
    request: Request, context: Annotated[NodeContext, Depends(node_context)]
) -> Directory | None:
    """Authenticate the hub's push; the verified directory (None if the hub is unreachable).

    Without a directory the pinned hub certificate still decides.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NodeProblem(401, "missing_token", "The hub must send a bearer token.")
    try:
        directory: Directory | None = await context.client.directory()
    except HubError:
        directory = context.client.directory_cache.current
    hub_cert = directory.hub_certificate if directory else context.identity.hub_certificate
    try:
        claims = verify_token(token.strip(), hub_cert, audience=context.identity.code)
    except JoseError as exc:
        raise NodeProblem(401, "invalid_token", f"The hub token is refused: {exc.detail}") from exc
    if claims.get("iss") != context.client.hub_id:
        raise NodeProblem(401, "invalid_token", "The token was not issued by the hub.")
    return directory


Context = Annotated[NodeContext, Depends(node_context)]
HubDirectory = Annotated[Directory | None, Depends(hub_directory)]


@router.post("/inbox", summary="Receive a pushed document")
async def receive(
    delivery: InboxDelivery, context: Context, directory: HubDirectory
) -> dict[str, Any]:
    """Store the document once and answer with a delivery receipt signed by this agency."""
    try:
        accepted = await context.receiver.accept(delivery, directory, via="push")
    except DeliveryRefused as exc:
        raise NodeProblem(exc.status, exc.code, exc.detail) from exc
    return {"receipt": accepted.receipt, "duplicate": not accepted.created}


@router.post("/status", summary="Receive a pushed status update")
async def receive_status(
    update: StatusUpdate, context: Context, directory: HubDirectory
) -> dict[str, Any]:
    """Record a recipient's status about our document, or a recall (13) of one we hold."""
    recall = context.receiver.status(update)
    return {"recorded": True, "recall_answer_scheduled": recall}
