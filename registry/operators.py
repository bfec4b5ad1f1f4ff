"""Operator accounts: a name, a role, and an API token kept only as its hash.

Tokens are 32 random bytes (URL-safe base64, prefixed `lto_` so a leaked one
is easy to spot); only the SHA-256 is stored, so the database cannot leak them.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db import utcnow
from registry.errors import conflict, invalid, not_found
from registry.models import OPERATOR_ROLES, Operator

TOKEN_PREFIX = "lto_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_operator(session: AsyncSession, name: str, role: str) -> tuple[Operator, str]:
    """Create an operator; return it and its token, which is never shown again."""
    name = name.strip()
    if not name:
        raise invalid("invalid_name", "the operator needs a name", "name")
    if role not in OPERATOR_ROLES:
        raise invalid("unknown_role", f"role must be one of {', '.join(OPERATOR_ROLES)}", "role")
    if await session.scalar(select(Operator).where(Operator.name == name)) is not None:
        raise conflict("duplicate_operator", f"an operator named {name!r} exists")
    token = new_token()
    operator = Operator(name=name, role=role, token_hash=hash_token(token), created_at=utcnow())
    session.add(operator)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict("duplicate_operator", f"an operator named {name!r} exists") from exc
    return operator, token


async def find_by_token(session: AsyncSession, token: str) -> Operator | None:
    operator = await session.scalar(
        select(Operator).where(Operator.token_hash == hash_token(token))
    )
    if operator is None or operator.disabled_at is not None:
        return None
    return operator


async def find_by_name(session: AsyncSession, name: str) -> Operator | None:
    """The operator called `name`, or None (disabled ones too: callers decide)."""
    return await session.scalar(select(Operator).where(Operator.name == name))


async def disable_operator(session: AsyncSession, name: str) -> Operator:
    operator = await session.scalar(select(Operator).where(Operator.name == name))
    if operator is None:
        raise not_found("operator_not_found", f"no operator {name!r}")
    if operator.disabled_at is None:
        operator.disabled_at = utcnow()
    await session.flush()
    return operator


async def list_operators(session: AsyncSession) -> list[Operator]:
    return list(await session.scalars(select(Operator).order_by(Operator.name)))


def operator_view(operator: Operator) -> dict[str, Any]:
    return {
        "name": operator.name,
        "role": operator.role,
        "created_at": operator.created_at.isoformat(),
        "disabled_at": operator.disabled_at.isoformat() if operator.disabled_at else None,
    }
