"""`/healthz` (the process is alive) and `/readyz` (it can serve), for load balancers and probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.context import HubContext, hub_context
from hub.ops.health import readiness
from registry.directory import directory_built_at

router = APIRouter(tags=["health"])


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: str
    """`ok` or `fail`."""
    failing: list[str]
    checks: dict[str, Check]


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """`{"status": "ok"}` while the process runs; it checks nothing else (see `/readyz`)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database, signing key, CA, CRL, directory and free disk",
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "At least one check fails; `failing` names them"}
    },
)
async def readyz(request: Request, context: HubContext = Depends(hub_context)) -> JSONResponse:
    """`200` when every check passes, `503` naming the failing ones in `failing`: take this
    hub out of a load balancer's rotation while it answers `503`."""
    checks = await readiness(
        context.engine,
        context.identity,
        directory_built_at(request),
        context.settings.directory_ttl_seconds,
        data_dir=context.settings.data_dir,
        min_free_bytes=context.settings.min_free_disk_bytes,
    )
    failing = [check.name for check in checks if not check.ok]
    body: dict[str, Any] = {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JSONResponse(body, status_code=503 if failing else 200)
