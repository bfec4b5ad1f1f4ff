"""What an operation can answer, derived from its route's code rather than listed by hand.

A route's endpoint and its dependencies (FastAPI's dependant tree), and the
functions they name, say which shared checks it runs; each check has the
problem statuses it answers:

- the member's bearer JWT (`authenticated_member`): 401, 403 (a suspended
  member), 429 (the member's rate limit);
- an operator's token (`authenticated_operator`): 401; a role check
  (`require_role(role)`) that some role fails: 403;
- the node's check of the hub's push token (`hub_directory`): 401;
- a body read with a size bound (`read_limited`): 413;
- any parameter or body: 422; a JSON body: 400 (not JSON); any body: 408 (where the
  app bounds a stalled body);
- a path parameter names something looked up: 404.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

__all__ = ["expected_problems"]

MARKERS: dict[str, set[int]] = {
    "authenticated_member": {401, 403, 429},
    "authenticated_operator": {401},
    "hub_directory": {401},
    "read_limited": {413},
}
ROLES = {"admin": {"admin", "auditor"}, "auditor": {"auditor"}}
"""Which roles each role grants (registry.operator_auth.ROLE_GRANTS), to tell when a role
check can refuse someone."""
OUR_PACKAGES = ("hub", "registry", "member_node")


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _referenced(function: Callable[..., Any], depth: int = 2) -> set[str]:
    """Names `function` uses, and those of the functions of our packages it calls by name."""
    code = getattr(function, "__code__", None)
    if code is None:
        return set()
    names = _names(code)
    if depth > 0:
        module_globals = getattr(function, "__globals__", {})
        for name in list(names):
            target = module_globals.get(name)
            if inspect.isfunction(target) and target.__module__.startswith(OUR_PACKAGES):
                names |= _referenced(target, depth - 1)
    return names


def _role_refusal(function: Callable[..., Any]) -> set[int]:
    if not getattr(function, "__qualname__", "").startswith("require_role."):
        return set()
    role = inspect.getclosurevars(function).nonlocals["role"]
    return {403} if any(role not in grants for grants in ROLES.values()) else set()


def expected_problems(
    app: FastAPI, spec: dict[str, Any], *, body_timeout: bool = True, not_json: bool = True
) -> dict[tuple[str, str], set[int]]:
    """(method, path) -> the problem statuses the operation can answer, from its code.

    `body_timeout`: the app bounds how long a body may stall (408); `not_json`: it
    answers a JSON body that does not parse with 400."""
    expected: dict[tuple[str, str], set[int]] = {}
    for route in iter_route_contexts(app.routes):
        path = route.path_format
        if not isinstance(route.original_route, APIRoute) or path not in spec["paths"]:
            continue
        statuses: set[int] = set()
        for call in _calls(route.dependant):
            names = _referenced(call)
            for marker, codes in MARKERS.items():
                if marker in names or getattr(call, "__name__", "") == marker:
                    statuses |= codes
            statuses |= _role_refusal(call)
        for method in route.methods or ():
            operation = spec["paths"][path].get(method.lower())
            if operation is None:
                continue
            found = set(statuses)
            body = operation.get("requestBody", {}).get("content", {})
            if operation.get("parameters") or body:
                found.add(422)
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                found.add(404)
            if body and body_timeout:
                found.add(408)
            if not_json and any(media_type.endswith("json") for media_type in body):
                found.add(400)
            expected[(method.lower(), path)] = found
    return expected
