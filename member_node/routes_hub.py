"""What the hub calls on a node: `POST /v1/inbox` (a document) and `POST /v1/status`.

Both are authenticated by the hub's bearer JWT (`iss` the hub id, `aud` this
node's code), checked against the hub certificate of the verified directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from hub.protocol import (
    COMPLIANT_HEADER,
    CURSOR_HEADER,
    DELIVERY_ID_HEADER,
    DOCUMENT_ID_HEADER,
    RECIPIENT_HEADER,
    SENDER_HEADER,
    VIOLATIONS_HEADER,
    InboxDelivery,
    StatusCode,
    StatusUpdate,
)
from member_node.context import NodeContext, node_context
from member_node.directory import Directory
from member_node.errors import HubError
from member_node.problems import NodeProblem, problem_responses
from member_node.receiver import DeliveryRefused, EdxmlDelivery
from signing.edxml import EdxmlError, parse_status, signing_time_of
from signing.jose import JoseError, verify_token

M = TypeVar("M", bound=BaseModel)
BODY_SCHEMAS: dict[str, Any] = {}
"""The models the bodies below refer to, for the app's OpenAPI components (`create_node_app`)."""


def _body(model: type[BaseModel], description: str) -> dict[str, Any]:
    """OpenAPI for a body read by hand: the model as JSON, or edXML."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    BODY_SCHEMAS.update(schema.pop("$defs", {}))
    xml = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}, "application/xml": xml},
        }
    }


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


def _is_xml(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media in ("application/xml", "application/edxml+xml", "text/xml")


def _model(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:  # answered as FastAPI's own body validation is
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


@router.post(
    "/inbox",
    summary="Receive a pushed document",
    responses=problem_responses(401, 422),
    openapi_extra=_body(
        InboxDelivery,
        "The delivery (JSON), or for an edXML member the hub-signed edXML document with "
        "the Lienthong-Delivery-Id, -Document-Id, -Sender, -Compliant, -Violations headers",
    ),
)
async def receive(request: Request, context: Context, directory: HubDirectory) -> dict[str, Any]:
    """Store the document once and answer with a delivery receipt signed by this agency.

    JSON (`InboxDelivery`), or for an edXML member the hub-signed edXML
    document with the delivery's ids and verdict in `Lienthong-*` headers.
    """
    body = await request.body()
    try:
        if _is_xml(request):
            headers = request.headers
            meta = EdxmlDelivery(
                delivery_id=headers.get(DELIVERY_ID_HEADER, ""),
                document_id=headers.get(DOCUMENT_ID_HEADER, ""),
                sender=headers.get(SENDER_HEADER, ""),
                hub_verdict={
                    "compliant": headers.get(COMPLIANT_HEADER) == "true",
                    "violations": headers.get(VIOLATIONS_HEADER, "").split(),
                },
            )
            if not (meta.delivery_id and meta.document_id and meta.sender):
                raise NodeProblem(422, "missing_headers", "an edXML push names its delivery")
            accepted = context.receiver.accept_edxml(body, meta, directory, via="push")
        else:
            delivery = _model(InboxDelivery, body)
            accepted = await context.receiver.accept(delivery, directory, via="push")
    except DeliveryRefused as exc:
        raise NodeProblem(exc.status, exc.code, exc.detail) from exc
    return {"receipt": accepted.receipt, "duplicate": not accepted.created}


@router.post(
    "/status",
    summary="Receive a pushed status update",
    responses=problem_responses(401, 422),
    openapi_extra=_body(
        StatusUpdate,
        "The status (JSON), or for an edXML member an edXML status message with the "
        "Lienthong-Cursor, -Document-Id and -Recipient headers",
    ),
)
async def receive_status(
    request: Request, context: Context, directory: HubDirectory
) -> dict[str, Any]:
    """Record a recipient's status about our document, or a recall (13) of one we hold.

    JSON (`StatusUpdate`), or an edXML status message with its cursor,
    document and recipient in `Lienthong-*` headers.
    """
    body = await request.body()
    if _is_xml(request):
        update = status_from_edxml(body, request.headers)
    else:
        update = _model(StatusUpdate, body)
    recall = context.receiver.status(update)
    return {"recorded": True, "recall_answer_scheduled": recall}


def status_from_edxml(body: bytes, headers: Mapping[str, str]) -> StatusUpdate:
    """An edXML status message (and the headers beside it) as the JSON update it stands for."""
    try:
        status = parse_status(body)
    except EdxmlError as exc:
        raise NodeProblem(422, exc.code, exc.detail) from exc
    stamp = signing_time_of(status.timestamp) or status.timestamp
    try:
        at = datetime.fromisoformat(stamp)
        return StatusUpdate(
            cursor=int(headers.get(CURSOR_HEADER, "0") or 0),
            document_id=headers.get(DOCUMENT_ID_HEADER) or status.document.package_id,
            recipient=headers.get(RECIPIENT_HEADER) or status.organ_id,
            code=StatusCode(status.code),
            reason=status.description,
            at=at,
            recorded_at=datetime.now(UTC),
        )
    except ValueError as exc:
        raise NodeProblem(422, "invalid_status", f"the status cannot be read: {exc}") from exc
