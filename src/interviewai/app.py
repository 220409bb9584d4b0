"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI

from interviewai import __version__
from interviewai.api.answers_audio import install_spoken_answers, upload_allowance
from interviewai.api.banks import banks_router
from interviewai.api.cors import ApiCors, WebSocketOrigins, parse_origins
from interviewai.api.docs_pages import install_docs_pages
from interviewai.api.errors import install_error_handlers
from interviewai.api.health import health_router
from interviewai.api.http_details import HeadAsGet
from interviewai.api.limits_body import BodyLimit
from interviewai.api.log_context import bind_log_context
from interviewai.api.media_routes import router as media_router
from interviewai.api.metrics import router as metrics_router
from interviewai.api.openapi import TAGS, camel_case_operation_id, install_openapi
from interviewai.api.pages import SecurityHeaders, install_web_client
from interviewai.api.plans import plans_router
from interviewai.api.question_json import QuestionEncoder
from interviewai.api.rate_limits import RateLimit, RateLimiter, parse_limit, parse_networks
from interviewai.api.reports import reports_router
from interviewai.api.routes import router
from interviewai.api.security import ApiKeyGuard, ApiKeys, install_log_masking, require_session_owner
from interviewai.api.websocket import websocket_router
from interviewai.container import Container, build_container
from interviewai.domain.ports import SpeechRecognizer
from interviewai.observability.asgi import RequestObserver
from interviewai.observability.logging import REQUEST_ID_HEADER, valid_request_id
from interviewai.observability.tracing import TELEMETRY_OFF
from interviewai.providers import build_tracing
from interviewai.settings import Settings, load_settings

if TYPE_CHECKING:
    from interviewai.observability.tracing_sdk import Tracing

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def _opened(limiter: RateLimiter) -> AsyncIterator[None]:
    if not limiter.enabled:
        yield
        return
    await limiter.open()
    try:
        yield
    finally:
        await limiter.aclose()


@contextlib.asynccontextmanager
async def _given_or_built(
    given: Container | None,
    settings: Settings,
    recognizers: Mapping[str, SpeechRecognizer] | None,
    tracing: Tracing | None,
) -> AsyncIterator[Container]:
    """The caller's container as it is (its owner closes it), else one built and closed here."""
    if given is not None:
        yield given
        return
    async with build_container(settings, recognizers=recognizers, tracing=tracing) as built:
        yield built


def create_app(
    settings: Settings | None = None,
    *,
    recognizers: Mapping[str, SpeechRecognizer] | None = None,
    container: Container | None = None,
) -> FastAPI:
    """Build the app; settings are read from the environment only when none are given (nor a container).

    `recognizers` are speech recognisers the caller built and owns (tests share one loaded model this way).
    `container`: services the caller built (with `build_container`, or its own parts), which the lifespan
    uses instead of building its own. The caller owns it: the lifespan neither opens nor closes it, so it
    outlives the app (a test's seam; without `settings` the app takes the container's, and it traces
    nothing of its own).
    """
    if settings is not None:
        resolved = settings
    else:
        resolved = container.settings if container is not None else load_settings()
    limiter = RateLimiter(
        parse_limit(resolved.rate_limit_sessions),
        parse_limit(resolved.rate_limit_requests),
        redis_url=resolved.redis_url,
    )
    # The provider exists now (FastAPI takes it); its export pipeline runs with the lifespan. A given
    # container's tracing is its builder's: the lifespan would never start this one's export.
    tracing = build_tracing(resolved) if container is None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            _given_or_built(container, resolved, recognizers, tracing) as services,
            _opened(limiter),
        ):
            app.state.container = services
            logger.info("InterviewAI %s ready (%d questions)", __version__, len(services.interviews.bank))
            yield

    app = FastAPI(
        title="InterviewAI",
        version=__version__,
        description="AI mock interviews: sessions, neural speech with measured lip-sync timings, avatars.",
        lifespan=lifespan,
        debug=resolved.debug,
        # FastAPI's own pages load Swagger UI and ReDoc from a CDN; install_docs_pages serves packaged ones.
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
        # A route that names no operation_id gets its function's name in camelCase, not FastAPI's mash.
        generate_unique_id_function=camel_case_operation_id,
        dependencies=[Depends(require_session_owner), Depends(bind_log_context)],
        telemetry=tracing.fastapi_telemetry() if tracing is not None else TELEMETRY_OFF,
    )
    # Per app, not per module: the encoded spoken part of questions lives as long as this app.
    app.state.question_encoder = QuestionEncoder()
    install_docs_pages(app)
    install_error_handlers(app)
    install_spoken_answers(app)  # before `router`: its multipart answer route shares a path with it
    app.include_router(router)
    app.include_router(media_router)
    app.include_router(plans_router)
    app.include_router(banks_router)
    app.include_router(health_router)
    app.include_router(reports_router)
    app.include_router(metrics_router)
    app.include_router(websocket_router(heartbeat_interval_s=resolved.ws_heartbeat_s))
    install_web_client(app)
    app.add_middleware(BodyLimit, max_bytes=resolved.max_request_bytes, allowance=upload_allowance(resolved))
    # Protections, innermost first (Starlette runs the last one added first).
    app.add_middleware(HeadAsGet)
    install_log_masking()
    api_keys = ApiKeys(resolved.api_key_list)
    app.state.admin_keys = ApiKeys(resolved.admin_api_key_list)
    if api_keys.enabled:
        exempt = "/api/v1/banks" if app.state.admin_keys.enabled else None
        app.add_middleware(ApiKeyGuard, keys=api_keys, exempt_prefix=exempt)
    if limiter.enabled:
        trusted = parse_networks(resolved.trusted_proxies)
        app.add_middleware(RateLimit, limiter=limiter, keys=api_keys, trusted_proxies=trusted)
    app.add_middleware(SecurityHeaders, public_base_url=resolved.public_base_url)
    # Outermost, so refusals (401, 429) carry CORS headers a browser script can read.
    origins = parse_origins(resolved.cors_origins)
    if origins:
        app.add_middleware(ApiCors, origins=origins)
        app.add_middleware(WebSocketOrigins, origins=origins)
    # Last, so that it finishes the document after every other module has added to it.
    install_openapi(app)
    # Outermost: every request is measured and logged with its request id, refused ones included.
    app.add_middleware(RequestObserver)
    app.add_middleware(CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, validator=valid_request_id)
    return app
