"""Routes of the public API under /api/v1: status and the interview flow (media: media_routes.py)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from interviewai import __version__
from interviewai.api.deps import (
    AvatarDep,
    InterviewsDep,
    PlansDep,
    SettingsDep,
    SpeechDep,
    SpeechMediaDep,
    UrlsDep,
)
from interviewai.api.openapi import error_responses
from interviewai.api.plans import PLAN_ERRORS, role_models
from interviewai.api.presenters import (
    avatar_image_url,
    idle_video_url,
    session_summary,
    start_options,
    status_response,
)
from interviewai.api.question_json import QuestionEncoderDep, delivery_http_response
from interviewai.api.schemas import (
    AnswerRequest,
    AvatarStatusResponse,
    CompletionResponse,
    Credits,
    EndResponse,
    FailureModel,
    HealthResponse,
    InterviewInfoResponse,
    InterviewStep,
    MetricsResponse,
    StartRequest,
    StartResponse,
    StatusResponse,
    VoiceModel,
    VoicesResponse,
)
from interviewai.api.security import request_key, session_id_for
from interviewai.services.video import AvatarService

router = APIRouter(prefix="/api/v1")

_SESSION_ERRORS = error_responses(404, 503)
_DELIVERY_ERRORS = error_responses(404, 409, 422, 503)
# Routes that read a JSON body can also refuse it before validation.
_BODY_ERRORS = error_responses(400, 413, 422)
STATUS_PROVIDER_DEADLINE_S = 3.0
WaitQuery = Annotated[
    float | None,
    Query(ge=0, le=3600, description="Seconds to wait for the video; 0 answers at once with audio."),
]
MINUTES_PER_QUESTION = 2.5


@router.get("/health", response_model=HealthResponse, tags=["status"], operation_id="getHealth")
async def health() -> HealthResponse:
    """Liveness: answers while the process runs and asks no dependency (`GET /api/v1/health/ready` does)."""
    return HealthResponse(service="interviewai", version=__version__)


@router.get(
    "/avatar/status", response_model=AvatarStatusResponse, tags=["status"], operation_id="getAvatarStatus"
)
async def avatar_status(avatar: AvatarDep, settings: SettingsDep) -> AvatarStatusResponse:
    """Whether questions come with video now, the provider's credits and its last failure. The credits are
    asked for under a 3 s deadline (`credits` and `reachable` are null when the provider does not answer);
    asking changes nothing."""
    # The status page must answer quickly even when the provider does not.
    report = await avatar.report(STATUS_PROVIDER_DEADLINE_S)
    if not report.configured:
        message = "Audio-only: questions come with audio, word timings, visemes and a static avatar image."
    elif report.disabled_by is not None:
        message = f"Video is off until the provider answers a probe: {report.disabled_by.reason}"
    else:
        message = "Video: each question comes with a clip of the presenter, and audio as a fallback."
    failure = report.last_failure
    credits = report.credits
    return AvatarStatusResponse(
        configured=report.configured,
        mode="video" if report.video_on else "audio_only",
        presenter_id=settings.did_presenter_id,
        credits=Credits(remaining=credits.remaining, total=credits.total) if credits else None,
        reachable=report.reachable,
        last_failure=(
            FailureModel(category=failure.category, message=failure.message, at=_iso_epoch(failure.at))
            if failure
            else None
        ),
        message=message,
    )


@router.get("/metrics", response_model=MetricsResponse, tags=["status"], operation_id="getMetrics")
async def metrics(speech_media: SpeechMediaDep, avatar: AvatarDep, speech: SpeechDep) -> MetricsResponse:
    """Counters of this process since it started: syntheses, clips asked for, and each voice engine's attempts
    and breaker. Each instance reports its own; Prometheus reads `GET /metrics` at the root."""
    return MetricsResponse(
        syntheses=speech_media.syntheses,
        clips_created=avatar.clips_created,
        video_on=avatar.video_on,
        speech_engines=[
            {
                "engine": h.engine,
                "voice": h.voice,
                "breaker": h.breaker.value,
                "attempts": h.attempts,
                "successes": h.successes,
                "failures": h.failures,
                "skipped": h.skipped,
            }
            for h in speech.health()
        ],
    )


@router.get(
    "/interview/info", response_model=InterviewInfoResponse, tags=["status"], operation_id="getInterviewInfo"
)
async def interview_info(
    interviews: InterviewsDep, avatar: AvatarDep, plans: PlansDep, settings: SettingsDep, urls: UrlsDep
) -> InterviewInfoResponse:
    """What an interview with no options is: how many questions of which types, about how long it takes, the
    presenter, and the roles a plan can target."""
    bank = interviews.bank
    assets = avatar.assets
    return InterviewInfoResponse(
        total_questions=len(bank),
        question_types=bank.question_types,
        estimated_duration_minutes=round(len(bank) * MINUTES_PER_QUESTION),
        avatar_mode=_mode(avatar),
        avatar_image_url=avatar_image_url(assets, urls),
        idle_video_url=idle_video_url(assets, urls),
        presenter_id=settings.did_presenter_id,
        roles=role_models(plans.roles()),
    )


@router.get("/voices", response_model=VoicesResponse, tags=["status"], operation_id="listVoices")
async def voices(speech: SpeechDep) -> VoicesResponse:
    """The voices of the configured speech engines, and whether each can speak now."""
    found = await speech.list_voices()
    return VoicesResponse(voices=[VoiceModel(**asdict(voice)) for voice in found])


@router.post(
    "/interview/start",
    response_model=StartResponse,
    responses={**_BODY_ERRORS, **PLAN_ERRORS},
    tags=["interview"],
    operation_id="startInterview",
)
async def start_interview(
    request: Request,
    interviews: InterviewsDep,
    avatar: AvatarDep,
    plans: PlansDep,
    urls: UrlsDep,
    options: Annotated[StartRequest | None, Body()] = None,
) -> StartResponse:
    """Start a session. No body (or `{}`) is the default questions in their fixed order; options plan it for a
    role, a level, a job ad or a custom bank, and the returned `seed` makes the same plan again."""
    plan_request = (options or StartRequest()).plan_request()
    plan = None if plan_request.is_default else await plans.plan(plan_request)
    session = await interviews.start(
        plan, session_id=session_id_for(request_key(request)), options=start_options(options)
    )
    assets = avatar.assets
    return StartResponse(
        session_id=session.id,
        state=session.state.value,
        total_questions=session.total_questions,
        avatar_mode=_mode(avatar),
        avatar_image_url=avatar_image_url(assets, urls),
        idle_video_url=idle_video_url(assets, urls),
        seed=plan.seed if plan else None,
        role=plan.role if plan else None,
        notes=list(plan.notes) if plan else [],
    )


@router.get(
    "/interview/{session_id}/question",
    response_model=InterviewStep,
    responses=_DELIVERY_ERRORS,
    tags=["interview"],
    operation_id="getQuestion",
)
async def current_question(
    session_id: str,
    interviews: InterviewsDep,
    avatar: AvatarDep,
    urls: UrlsDep,
    encoder: QuestionEncoderDep,
    wait: WaitQuery = None,
) -> Response | CompletionResponse:
    """The question to answer now, spoken, waiting up to `wait` seconds for the presenter's clip
    (`video_status` says what came of it); asked again, the same question. After the last answer, the
    completion; on an ended session, 409 `session_finished`."""
    delivery = await interviews.current(session_id, video_wait_s=wait)
    return delivery_http_response(delivery, urls, avatar.assets, encoder)


@router.post(
    "/interview/{session_id}/answer",
    response_model=InterviewStep,
    responses={**_DELIVERY_ERRORS, **_BODY_ERRORS},
    tags=["interview"],
    operation_id="submitAnswer",
)
async def submit_answer(
    session_id: str,
    answer: AnswerRequest,
    interviews: InterviewsDep,
    avatar: AvatarDep,
    urls: UrlsDep,
    encoder: QuestionEncoderDep,
    wait: WaitQuery = None,
) -> Response | CompletionResponse:
    """Answer the current question with text; the reply is the next question, or the completion after the last
    one. The same answer sent again for the question just answered gets the same reply and is not recorded
    twice; any other question's id is 409 `wrong_question`."""
    delivery = await interviews.answer(session_id, answer.question_id, answer.answer_text, video_wait_s=wait)
    return delivery_http_response(delivery, urls, avatar.assets, encoder)


@router.get(
    "/interview/{session_id}/status",
    response_model=StatusResponse,
    responses=_SESSION_ERRORS,
    tags=["interview"],
    operation_id="getStatus",
)
async def session_status(session_id: str, interviews: InterviewsDep) -> StatusResponse:
    """Where the session stands: its state, the current question's number and the answers recorded."""
    return status_response(await interviews.status(session_id))


@router.delete(
    "/interview/{session_id}",
    response_model=EndResponse,
    responses=_SESSION_ERRORS,
    tags=["interview"],
    operation_id="endInterview",
)
async def end_session(session_id: str, interviews: InterviewsDep, urls: UrlsDep) -> EndResponse:
    """End the session now, with its summary; its kept recordings are deleted. Ending an ended session answers
    the same."""
    session = await interviews.end(session_id)
    return EndResponse(
        message="Interview session ended.", session_id=session.id, summary=session_summary(session, urls)
    )


def _mode(avatar: AvatarService) -> str:
    return "video" if avatar.video_on else "audio_only"


def _iso_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")
