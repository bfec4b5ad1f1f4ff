"""`/healthz` (the process is alive) and `/readyz` (it can serve), for load balancers and probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from hub.app import HubContext, hub_context
from hub.health import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database, signing key, CA, CRL and directory",
    responses={503: {"description": "At least one check fails; `failing` names them"}},
)
async def readyz(request: Request, context: HubContext = Depends(hub_context)) -> JSONResponse:
    directory = getattr(request.app.state, "signed_directory", None)
    checks = await readiness(
        context.engine,
        context.identity,
        getattr(directory, "built_at", None),
        context.settings.directory_ttl_seconds,
    )
    failing = [check.name for check in checks if not check.ok]
    body: dict[str, Any] = {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JSONResponse(body, status_code=503 if failing else 200)
