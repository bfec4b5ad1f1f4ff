"""Routes that members and auditors both read: who is calling, and what they may see."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from hub.context import HubContext, hub_context
from registry.member_auth import MEMBER_SCHEME, authenticated_member
from registry.operator_auth import OPERATOR_SCHEME, authenticated_operator, bearer_token
from registry.operators import TOKEN_PREFIX
from registry.problems import Problem

__all__ = ["MEMBER_OR_OPERATOR", "member_or_auditor"]

MEMBER_OR_OPERATOR: dict[str, Any] = {"security": [{MEMBER_SCHEME: []}, {OPERATOR_SCHEME: []}]}
"""The OpenAPI security of such a route: a member's JWT or an operator token."""


async def member_or_auditor(
    request: Request, context: HubContext = Depends(hub_context)
) -> str | None:
    """None for an auditor or admin (they see everything); the member's code for a member."""
    token = bearer_token(request)
    if token is not None and not token.startswith(TOKEN_PREFIX):
        return (await authenticated_member(request)).code
    operator = await authenticated_operator(request, context)
    if operator.role not in {"auditor", "admin"}:
        raise Problem(403, "forbidden_role", "this needs the auditor role")
    return None
