"""What the routes share: the problem+json body and its OpenAPI documentation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from registry.problems import PROBLEM_MEDIA_TYPE


class ProblemBody(BaseModel):
    """An RFC 9457 problem: branch on `code`, show `detail` to humans."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


_DESCRIPTIONS = {
    400: "The body is not JSON",
    401: "No valid member token",
    403: "Authenticated, but not allowed",
    404: "No such resource for this caller",
    409: "Conflicts with the current state",
    413: "The body is larger than the hub accepts",
    422: "The input is not valid",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem statuses a route can answer."""
    return {
        status: {
            "model": ProblemBody,
            "description": _DESCRIPTIONS.get(status, "Error"),
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemBody"}}
            },
        }
        for status in statuses
    }
