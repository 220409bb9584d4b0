"""The feedback report route: JSON by default, a printable HTML page on request."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from interviewai.api.deps import EvaluationsDep, UrlsDep
from interviewai.api.report_presenter import report_html, report_response
from interviewai.api.report_schemas import ReportResponse
from interviewai.api.schemas import ErrorResponse

reports_router = APIRouter(prefix="/api/v1")
# The printable page runs no script and loads nothing; its one inline stylesheet is the only thing allowed.
REPORT_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def wants_html(request: Request, format: str | None) -> bool:
    """?format wins; else HTML when the client lists text/html before (or without) JSON, as browsers do."""
    if format is not None:
        return format == "html"
    accept = request.headers.get("accept", "").lower()
    html_at, json_at = accept.find("text/html"), accept.find("application/json")
    return html_at >= 0 and (json_at < 0 or html_at < json_at)


@reports_router.get(
    "/interview/{session_id}/report",
    response_model=ReportResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The report (JSON, or HTML when asked for)"},
        404: {"model": ErrorResponse, "description": "Unknown session (`session_not_found`)"},
    },
    tags=["interview"],
)
async def interview_report(
    session_id: str,
    request: Request,
    response: Response,
    evaluations: EvaluationsDep,
    urls: UrlsDep,
    format: Annotated[Literal["json", "html"] | None, Query(description="json (default) or html")] = None,
) -> ReportResponse | HTMLResponse:
    """Feedback on every answer so far: `pending` while an answer is still being evaluated, else `ready`."""
    report = report_response(await evaluations.report(session_id), urls)
    # The same URL answers JSON or HTML by the Accept header, so caches must keep them apart.
    response.headers["Vary"] = "Accept"
    if wants_html(request, format):
        return HTMLResponse(
            report_html(report), headers={"Vary": "Accept", "Content-Security-Policy": REPORT_PAGE_POLICY}
        )
    return report
