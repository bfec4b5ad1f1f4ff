"""Operator authentication: `Authorization: Bearer <operator token>` and a role check.

`admin` may do everything an `auditor` may (read reports, traces and the
change log) and also change the registry and redrive deliveries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from registry.context import RegistryContext, registry_context
from registry.operators import find_by_token
from registry.problems import Problem, problems

ROLE_GRANTS = {"admin": {"admin", "auditor"}, "auditor": {"auditor"}}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="lienthong-operators"'}

OPERATOR_SCHEME = "operatorToken"
"""The OpenAPI security scheme of operator routes."""
OPERATOR_SECURITY_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An operator token (`lienthong registry operator add`); the `admin` role may do"
        " everything, `auditor` only reads."
    ),
}


def operators_only(role: str, *statuses: int) -> dict[str, Any]:
    """Route keywords of an operator route: its security and its problems.

    401 always; 403 when some role is refused (`admin` routes: an auditor).
    """
    refused = 403 if any(role not in grants for grants in ROLE_GRANTS.values()) else None
    return {
        "openapi_extra": {"security": [{OPERATOR_SCHEME: []}]},
        "responses": problems(401, *([refused] if refused else []), *statuses),
    }


@dataclass(frozen=True)
class AuthenticatedOperator:
    name: str
    role: str

    @property
    def actor(self) -> str:
        """How this operator appears in change logs."""
        return f"operator:{self.name}"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticated_operator(
    request: Request, context: RegistryContext = Depends(registry_context)
) -> AuthenticatedOperator:
    token = bearer_token(request)
    if token is None:
        raise Problem(401, "operator_token_missing", "send an operator token", headers=_CHALLENGE)
    async with context.sessions() as session:
        operator = await find_by_token(session, token)
    if operator is None:
        raise Problem(401, "operator_token_invalid", "unknown operator token", headers=_CHALLENGE)
    return AuthenticatedOperator(operator.name, operator.role)


def require_role(role: str) -> Callable[..., Awaitable[AuthenticatedOperator]]:
    """FastAPI dependency factory: the caller is an operator granted `role`."""

    async def dependency(
        operator: AuthenticatedOperator = Depends(authenticated_operator),
    ) -> AuthenticatedOperator:
        if role not in ROLE_GRANTS.get(operator.role, set()):
            raise Problem(403, "forbidden_role", f"this needs the {role} role")
        return operator

    return dependency
