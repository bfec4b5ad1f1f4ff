"""The hub's pushes in the OpenAPI document: what a push member's endpoint receives.

The hub POSTs each document for a push member to `{endpoint}/v1/inbox` and each
status for it to `{endpoint}/v1/status` (`hub.delivery.jobs` builds them,
`hub.delivery.worker` sends them). The endpoint is the one registered for the
member, so the pushes are OpenAPI callbacks of the registration
(`POST /v1/admin/members`, `PATCH /v1/admin/members/{code}`), whose runtime
expression `{$request.body#/endpoint}` names that very URL; the same path items
are the document's `webhooks` (OpenAPI 3.1), where integrators building a
member's endpoint look for what they must serve.

The examples are the recorded pull answers (`hub.api.examples`): a push carries
the same delivery, and for an edXML member the same hub-signed document or
status message, as `GET /v1/inbox` and `GET /v1/status-updates` give a pull member.
"""

from __future__ import annotations

from typing import Any

from hub.api.examples import recorded_examples
from hub.protocol import (
    ATTEMPT_HEADER,
    COMPLIANT_HEADER,
    CURSOR_HEADER,
    DELIVERY_ID_HEADER,
    DOCUMENT_ID_HEADER,
    RECIPIENT_HEADER,
    SENDER_HEADER,
    VIOLATIONS_HEADER,
    PushAnswer,
)
from hub.settings import HubSettings

__all__ = ["HUB_SCHEME", "add_push_callbacks"]

HUB_SCHEME = "hubToken"
_HUB_SECURITY: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "The hub's JWT on each push: `iss` the hub id, `aud` the member's agency code, at"
        " most 300 s of life, signed by the hub certificate (`hub_certificate` in the"
        " signed directory, pinned by the member); header `kid` its fingerprint. Refuse a"
        " push whose token does not verify."
    ),
}
REGISTRATIONS = (("/v1/admin/members", "post"), ("/v1/admin/members/{code}", "patch"))
_XML = {"schema": {"type": "string", "format": "binary"}}


def _retries() -> str:
    defaults = HubSettings.model_fields
    attempts = defaults["push_max_attempts"].default
    days = defaults["push_max_age_seconds"].default / 86400
    base = defaults["push_backoff_base_seconds"].default
    cap = defaults["push_backoff_max_seconds"].default
    timeout = defaults["push_timeout_seconds"].default
    return (
        "Any other answer (a redirect is not followed), or none within"
        f" `LIENTHONG_PUSH_TIMEOUT_SECONDS` ({timeout:g} s), is retried with exponential"
        f" backoff and jitter: between half and all of {base:g} s doubled per attempt, at"
        f" most {cap:g} s (`LIENTHONG_PUSH_BACKOFF_BASE_SECONDS`,"
        f" `LIENTHONG_PUSH_BACKOFF_MAX_SECONDS`), until {attempts} attempts"
        f" (`LIENTHONG_PUSH_MAX_ATTEMPTS`) or {days:g} days (`LIENTHONG_PUSH_MAX_AGE_SECONDS`);"
        " then it is `failed` until an operator redrives it. The same push may come"
        " more than once: deduplicate on the document id (and the status's cursor)."
    )


def _header(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def _inbox() -> dict[str, Any]:
    recorded = recorded_examples()
    delivery = dict(recorded["GET /v1/inbox 200"]["response"]["deliveries"][0])
    delivery.pop("lease_expires_at", None)
    receipt = recorded["POST /v1/inbox/{delivery_id}/ack 200"]["request"]["receipt"]
    document = recorded["GET /v1/inbox 200 edxml"]["response"]
    return {
        "summary": "A document for this member (push)",
        "description": (
            "Sent when a document is accepted for this member (`POST /v1/documents`), and"
            " again after an operator's redrive. A `json` member receives the delivery; an"
            " `edxml` member the hub-signed edXML document (docs/EDXML.md), its delivery"
            " in `Lienthong-*` headers.\n\n"
            "A 2xx answer is delivery. Answer with the member's delivery receipt: a compact"
            " JWS signed by a certificate registered for the member, whose claims name"
            " `document_id`, `delivery_id` and optionally `iss` (the member's code); the"
            " hub keeps it as proof of receipt (a receipt it cannot verify is noted in the"
            " attempt log, and the delivery still counts). " + _retries()
        ),
        "security": [{HUB_SCHEME: []}],
        "parameters": [
            {"name": name, "in": "header", "required": False, **_header(name, text)}
            for name, text in (
                (DELIVERY_ID_HEADER, "edXML pushes: the delivery"),
                (DOCUMENT_ID_HEADER, "edXML pushes: the document (the deduplication key)"),
                (SENDER_HEADER, "edXML pushes: the sender's agency code"),
                (ATTEMPT_HEADER, "edXML pushes: the attempt number, from 1"),
                (COMPLIANT_HEADER, "edXML pushes: `true` or `false`, the hub's verdict"),
                (VIOLATIONS_HEADER, "edXML pushes: the verdict's violation codes"),
            )
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/InboxDelivery"},
                    "example": delivery,
                },
                "application/xml": {**_XML, "example": document},
            },
        },
        "responses": {
            "2XX": {
                "description": "Delivered; the body may carry the member's delivery receipt",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/PushAnswer"},
                        "example": {"receipt": receipt},
                    }
                },
            },
            "default": {"description": "Not delivered: retried (see above)"},
        },
    }


def _status() -> dict[str, Any]:
    recorded = recorded_examples()
    update = recorded["GET /v1/status-updates 200"]["response"]["updates"][0]
    message = recorded["GET /v1/status-updates 200 edxml"]["response"]
    return {
        "summary": "A status for this member (push)",
        "description": (
            "Sent when a recipient reports a status on a document this member sent"
            " (`POST /v1/documents/{document_id}/status`), and when the sender of a"
            " document this member received recalls it (code 13). A `json` member receives"
            " the update; an `edxml` member the edXML status message, its cursor, document"
            " and recipient in `Lienthong-*` headers.\n\nA 2xx answer means received (the"
            " body is not read). " + _retries()
        ),
        "security": [{HUB_SCHEME: []}],
        "parameters": [
            {"name": name, "in": "header", "required": False, **_header(name, text)}
            for name, text in (
                (CURSOR_HEADER, "edXML pushes: the update's position in this member's stream"),
                (DOCUMENT_ID_HEADER, "edXML pushes: the document"),
                (RECIPIENT_HEADER, "edXML pushes: the recipient whose status it is"),
            )
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/StatusUpdate"},
                    "example": update,
                },
                "application/xml": {**_XML, "example": message},
            },
        },
        "responses": {
            "2XX": {"description": "Received"},
            "default": {"description": "Not received: retried (see above)"},
        },
    }


def add_push_callbacks(spec: dict[str, Any]) -> None:
    """Describe the pushes: path items, callbacks on the registration, webhooks, the scheme."""
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})[HUB_SCHEME] = _HUB_SECURITY
    components.setdefault("schemas", {})["PushAnswer"] = PushAnswer.model_json_schema()
    items = components.setdefault("pathItems", {})
    items["memberInbox"] = {"post": _inbox()}
    items["memberStatus"] = {"post": _status()}
    callbacks = {
        "memberInbox": {
            "{$request.body#/endpoint}/v1/inbox": {"$ref": "#/components/pathItems/memberInbox"}
        },
        "memberStatus": {
            "{$request.body#/endpoint}/v1/status": {"$ref": "#/components/pathItems/memberStatus"}
        },
    }
    for path, method in REGISTRATIONS:
        operation = spec.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["callbacks"] = callbacks
    spec["webhooks"] = {
        "memberInbox": {"$ref": "#/components/pathItems/memberInbox"},
        "memberStatus": {"$ref": "#/components/pathItems/memberStatus"},
    }
