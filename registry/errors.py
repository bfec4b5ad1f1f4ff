"""The registry's refusals: each a `Problem` with a stable code, so the API and the CLI agree."""

from __future__ import annotations

from registry.problems import Problem


class RegistryError(Problem):
    """A registry operation refused; nothing was written."""


def invalid(code: str, detail: str, field: str | None = None) -> RegistryError:
    errors = [{"field": field, "message": detail}] if field else None
    return RegistryError(422, code, detail, errors=errors)


def conflict(code: str, detail: str) -> RegistryError:
    return RegistryError(409, code, detail)


def not_found(code: str, detail: str) -> RegistryError:
    return RegistryError(404, code, detail)
