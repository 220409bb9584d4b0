"""GET /metrics: Prometheus text format, optionally behind METRICS_TOKEN (JSON figures stay at /api/v1/metrics)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from interviewai.api.deps import GaugesDep, SettingsDep
from interviewai.api.errors import error_response
from interviewai.observability import metrics

router = APIRouter()
TOKEN_MESSAGE = "This endpoint needs 'Authorization: Bearer <METRICS_TOKEN>'."


def _presented_token(request: Request) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


@router.get(
    "/metrics",
    tags=["status"],
    operation_id="getPrometheusMetrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"},
        401: {"description": "METRICS_TOKEN is set and the request did not present it (`unauthorized`)"},
    },
)
async def prometheus_metrics(request: Request, gauges: GaugesDep, settings: SettingsDep) -> Response:
    """The Prometheus text exposition, with the state gauges published first; 401 `unauthorized` without the
    token when METRICS_TOKEN is set."""
    token = settings.metrics_token.get_secret_value()
    if token and not hmac.compare_digest(_presented_token(request).encode(), token.encode()):
        return error_response(
            401, "unauthorized", TOKEN_MESSAGE, headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
        )
    await gauges.publish()
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
