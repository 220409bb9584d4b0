"""GET /api/v1/health/ready: 200 when the store, blob store and (when configured) broker answer, else 503."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interviewai.api.deps import ReadinessDep
from interviewai.api.errors import STORE_RETRY_AFTER_S, error_response
from interviewai.api.schemas import ErrorResponse, ReadyResponse
from interviewai.services.readiness import OK

health_router = APIRouter(prefix="/api/v1")

_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorResponse,
        "description": "`not_ready`: `detail` maps each check (store, blobs, broker, redis) to ok or why it failed",
    }
}


@health_router.get("/health/ready", response_model=ReadyResponse, responses=_NOT_READY, tags=["status"])
async def ready(readiness: ReadinessDep) -> ReadyResponse | JSONResponse:
    """Whether this instance can serve interviews now; `/health` stays the cheap liveness check."""
    checks = await readiness.report()
    if all(outcome == OK for outcome in checks.values()):
        return ReadyResponse(checks=checks)
    return error_response(503, "not_ready", checks, headers={"Retry-After": str(STORE_RETRY_AFTER_S)})
