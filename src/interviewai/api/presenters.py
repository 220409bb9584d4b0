"""Turns service results into the public response models."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from interviewai.api.deps import UrlBuilder
from interviewai.api.schemas import (
    CompletionResponse,
    FollowUpSummary,
    QuestionResponse,
    QuestionSummary,
    SessionSummary,
    StartRequest,
    StatusResponse,
    VisemeModel,
    WordTimingModel,
)
from interviewai.api.speech_presenters import speech_summary, spoken_fields
from interviewai.domain.avatar import VideoStatus
from interviewai.domain.session import FeedbackMode, InterviewSession
from interviewai.domain.speech import SpokenAudio
from interviewai.services.interview import Completion, Delivery, FeedbackOptions, QuestionDelivery
from interviewai.services.video import PresenterAssets
from interviewai.settings import AvatarMode

COMPLETION_MESSAGE = "Congratulations! You have completed the interview."


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def start_options(request: StartRequest | None) -> FeedbackOptions:
    """The feedback options of a start; no body is the defaults (feedback at the end, no follow-ups)."""
    if request is None:
        return FeedbackOptions()
    return FeedbackOptions(feedback=FeedbackMode(request.feedback), follow_ups=request.follow_ups)


def report_url(session_id: str, urls: UrlBuilder) -> str:
    """The absolute URL of the session's feedback report."""
    return urls(f"/api/v1/interview/{session_id}/report")


def session_summary(session: InterviewSession, urls: UrlBuilder | None = None) -> SessionSummary:
    """The summary; with `urls`, spoken answers carry the absolute URL of their kept recording."""
    return SessionSummary(
        session_id=session.id,
        state=session.state.value,
        created_at=_iso(session.created_at) or "",
        completed_at=_iso(session.completed_at),
        questions_answered=session.answers_recorded,
        total_questions=session.total_questions,
        questions=[
            QuestionSummary(
                question_id=q.question.id,
                question_text=q.question.text,
                question_type=q.question.type.value,
                answer_text=q.answer_text,
                word_count=q.answer_word_count,
                seconds_to_answer=q.seconds_to_answer,
                follow_up=(
                    FollowUpSummary(
                        question_id=q.follow_up_id,
                        question_text=q.follow_up.text,
                        answer_text=q.follow_up.answer_text,
                    )
                    if q.follow_up is not None
                    else None
                ),
                **spoken_fields(session, q, urls),
            )
            for q in session.questions
        ],
        report_url=report_url(session.id, urls) if urls is not None else None,
        speech_summary=speech_summary(session),
    )


def status_response(session: InterviewSession) -> StatusResponse:
    """A session's status as GET status and the WebSocket `status` message carry it."""
    return StatusResponse(
        session_id=session.id,
        state=session.state.value,
        current_question=session.current_question_number,
        total_questions=session.total_questions,
        is_complete=session.is_complete,
        answers_recorded=session.answers_recorded,
    )


def idle_video_url(assets: PresenterAssets | None, urls: UrlBuilder) -> str | None:
    """Our copy of the presenter's idle loop, the provider's while ours is not there yet, or None."""
    if assets is None:
        return None
    if assets.idle_blob is not None:
        return urls.media(assets.idle_blob)
    return assets.source_idle_url


def avatar_image_url(assets: PresenterAssets | None, urls: UrlBuilder) -> str:
    """The video presenter's picture when we have it, else our own drawn avatar."""
    if assets is not None and assets.image_blob is not None:
        return urls.media(assets.image_blob)
    return urls.avatar_image()


def question_fields(
    delivery: QuestionDelivery, urls: UrlBuilder, assets: PresenterAssets | None
) -> dict[str, Any]:
    """Every field of a QuestionResponse except the spoken ones (`SPOKEN_FIELDS`)."""
    video = delivery.video
    follow_up = delivery.follow_up
    question = delivery.asked.question
    return {
        "type": "question",
        "question_id": delivery.asked.follow_up_id if follow_up else question.id,
        "question_text": follow_up.text if follow_up else question.text,
        "question_type": "follow_up" if follow_up else question.type.value,
        "parent_question_id": question.id if follow_up else None,
        "avatar_mode": (
            AvatarMode.VIDEO if video.status is VideoStatus.READY else AvatarMode.AUDIO_ONLY
        ).value,
        "video_url": urls.media(video.blob_name)
        if video.status is VideoStatus.READY and video.blob_name
        else None,
        "idle_video_url": idle_video_url(assets, urls),
        "audio_url": urls.media(delivery.speech.audio_name),
        "avatar_image_url": avatar_image_url(assets, urls),
        "current_question": delivery.asked.position,
        "total_questions": delivery.session.total_questions,
        "latency_ms": delivery.latency_ms,
        "voice": delivery.speech.audio.voice_label,
        "video_status": video.status.value,
        "fallback_reason": video.fallback_reason,
    }


SPOKEN_FIELDS = ("audio_base64", "audio_duration", "word_timings", "visemes")


def spoken_values(audio: SpokenAudio) -> dict[str, Any]:
    """The spoken fields as JSON-ready values (floats as floats, as the model would coerce them)."""
    return {
        "audio_base64": base64.b64encode(audio.mp3).decode("ascii"),
        "audio_duration": round(audio.duration_s, 3),
        "word_timings": [
            {"word": w.word, "start": float(w.start), "end": float(w.end)} for w in audio.word_timings
        ],
        "visemes": [
            {"viseme": v.viseme, "start": float(v.start), "end": float(v.end)} for v in audio.visemes
        ],
    }


def question_response(
    delivery: QuestionDelivery, urls: UrlBuilder, assets: PresenterAssets | None = None
) -> QuestionResponse:
    """The question being delivered, with its audio inline and every URL absolute."""
    audio = delivery.speech.audio
    spoken = spoken_values(audio)
    return QuestionResponse(
        **question_fields(delivery, urls, assets),
        audio_base64=spoken["audio_base64"],
        audio_duration=spoken["audio_duration"],
        word_timings=[WordTimingModel(word=w.word, start=w.start, end=w.end) for w in audio.word_timings],
        visemes=[VisemeModel(viseme=v.viseme, start=v.start, end=v.end) for v in audio.visemes],
    )


def completion_response(completion: Completion, urls: UrlBuilder | None = None) -> CompletionResponse:
    """The completion of a finished interview; with `urls`, the summary's URLs are absolute (without, they are
    left out)."""
    return CompletionResponse(
        message=COMPLETION_MESSAGE,
        questions_answered=completion.session.answers_recorded,
        session_summary=session_summary(completion.session, urls),
    )


def delivery_response(
    delivery: Delivery, urls: UrlBuilder, assets: PresenterAssets | None = None
) -> QuestionResponse | CompletionResponse:
    """The next step as GET question and POST answer return it: the question, or the completion."""
    if isinstance(delivery, Completion):
        return completion_response(delivery, urls)
    return question_response(delivery, urls, assets)
