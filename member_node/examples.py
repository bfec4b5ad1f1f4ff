"""Examples in the node's OpenAPI document: exchanges recorded from a real node and hub.

`openapi_examples.json` holds, per operation and status (`METHOD path STATUS`), a
request and the node's answer recorded from one scenario
(`tests/member_node/openapi_scenario.py`: a DMS sends through its node, the hub
pushes to the recipient's node, whose DMS reads, takes, answers and is recalled),
so each example is something the node accepted or said; a test plays the scenario
again and compares. The refusals the scenario cannot provoke without breaking the hub
(its 403, 409 and 413 passed on, a 502) get a body of the node's shape with the code a
DMS is most likely to meet there.
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

from apidocs.recorded import add_recorded, load_recorded
from member_node.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

__all__ = ["EXAMPLES_FILE", "add_examples", "problem_example", "recorded_examples"]

EXAMPLES_FILE = Path(__file__).with_name("openapi_examples.json")


@cache
def recorded_examples() -> dict[str, dict[str, Any]]:
    """`METHOD path STATUS[ LABEL]` -> the recorded exchange (`apidocs.recorded`)."""
    return load_recorded(EXAMPLES_FILE)


_UNRECORDED: dict[int, tuple[str, str]] = {
    403: ("member_suspended", "000.00.00.H26 is suspended"),
    409: ("document_id_conflict", "another package was sent under this id"),
    413: ("payload_too_large", "the package is over the hub's limit"),
    422: ("validation_error", "The request is not valid."),
    502: ("hub_unreachable", "The hub failed: the hub did not answer"),
}


def problem_example(status: int) -> dict[str, Any]:
    """A problem body as the node writes it, for a refusal no scenario records."""
    code, detail = _UNRECORDED.get(status, ("http_error", "see the code"))
    title = HTTPStatus(status).phrase
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status}
    errors = [{"field": "body", "message": "Field required"}] if status == 422 else None
    return {**body, "detail": detail, "code": code, **({"errors": errors} if errors else {})}


def add_examples(spec: dict[str, Any]) -> None:
    """Put the recorded requests and answers under the operations of `spec`, and a problem
    body under each refusal none was recorded for."""
    add_recorded(spec, recorded_examples())
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                media = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
                if media is not None and status.isdigit():
                    media.setdefault("example", problem_example(int(status)))
