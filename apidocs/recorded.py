"""Recorded exchanges as OpenAPI examples, for the hub's document and a member node's.

A recording maps `METHOD path STATUS` (then, for a second exchange with the same
answer, a label such as another media type) to `{"status", "request", "response",
"media_type", "request_media_type"}`: what a scenario played against the real
service sent and got. Pure: no HTTP, no database, so a member node places its own
recording with the same code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["add_recorded", "load_recorded"]


def load_recorded(path: Path) -> dict[str, dict[str, Any]]:
    """A recording as written by a scenario."""
    data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def add_recorded(spec: dict[str, Any], recorded: dict[str, dict[str, Any]]) -> None:
    """Put each recorded request and answer under its operation of `spec`, as the example
    of its media type."""
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                for found in _recorded_for(recorded, f"{method.upper()} {path} "):
                    _add(operation, found)


def _recorded_for(recorded: dict[str, dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The exchanges of one operation: `METHOD path STATUS` first (a success before a
    refusal, so a request's example is one that was accepted), then the labelled ones
    (`METHOD path STATUS LABEL`: another media type), which only fill what is left."""
    found = [(key, value) for key, value in recorded.items() if key.startswith(prefix)]
    found.sort(key=lambda item: (item[0].count(" ") > 2, item[1]["status"] >= 400))
    return [value for _, value in found]


def _media(content: dict[str, Any], media_type: str | None) -> dict[str, Any] | None:
    """The media object of `content` for `media_type`, its parameters (`; charset=…`) aside."""
    for key, media in content.items():
        if media_type is not None and key.split(";")[0].strip() == media_type:
            found: dict[str, Any] = media
            return found
    return None


def _add(operation: dict[str, Any], found: dict[str, Any]) -> None:
    request_type = found.get("request_media_type")
    body = _media(operation.get("requestBody", {}).get("content", {}), request_type)
    if body is not None and found["request"] is not None:
        body.setdefault("example", found["request"])
    answer = operation["responses"].get(str(found["status"]), {}).get("content", {})
    content = _media(answer, found["media_type"])
    if content is not None:
        content.setdefault("example", found["response"])
