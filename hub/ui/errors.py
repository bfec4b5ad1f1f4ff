"""Errors under `/ui` as HTML pages: a browser never shows an operator raw problem+json.

The page carries the same status, stable code, detail, offending fields and
request id as the problem body the API would send, and the problem's headers
(`Retry-After`, `Allow`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from hub.ui.render import page
from registry.problems import Problem

__all__ = ["TITLES", "problem_page"]

TITLES = {
    400: "Yêu cầu không hợp lệ (bad request)",
    401: "Chưa đăng nhập (unauthorised)",
    403: "Không có quyền (forbidden)",
    404: "Không tìm thấy (not found)",
    405: "Phương thức không được phép (method not allowed)",
    409: "Xung đột (conflict)",
    413: "Quá lớn (too large)",
    422: "Tham số không hợp lệ (invalid parameters)",
    500: "Lỗi hệ thống (internal error)",
    503: "Tạm thời không phục vụ được (unavailable)",
}


def problem_page(request: Request, problem: Problem, body: dict[str, Any]) -> Response | None:
    """The HTML page of a problem raised under `/ui`; None elsewhere (the API stays JSON)."""
    path = request.url.path
    if path != "/ui" and not path.startswith("/ui/"):
        return None
    try:
        response = page(
            request, "error.html", None, status=problem.status, http_status=problem.status,
            title=TITLES.get(problem.status, str(problem.status)), code=body.get("code", ""),
            detail=body.get("detail", ""), errors=body.get("errors") or [],
        )  # fmt: skip
    except Exception:  # a page that cannot be drawn: the problem+json still answers
        return None
    for name, value in (problem.headers or {}).items():
        response.headers[name] = value
    return response
