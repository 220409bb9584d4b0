"""Examples for the OpenAPI document, built as model instances so that each one is valid by construction."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from interviewai.api import schemas as s
from interviewai.api.report_schemas import (
    CriterionModel,
    DeliveryModel,
    OverallModel,
    QuestionFeedback,
    ReportResponse,
)

_SESSION = "session_Jx3vQ9mT2aLk8YwPz0RcE5uN1bHd7GfS"
_BASE = "http://localhost:8000/api/v1/media"
_AUDIO = f"{_BASE}/audio/{'3f' * 32}.mp3"
_IMAGE = f"{_BASE}/avatar.png"
# A ready report from EVALUATOR=llm with a spoken answer: what a client renders once status is "ready".
_DELIVERY = DeliveryModel(
    spoken_answers=1,
    words=96,
    speaking_s=41.5,
    words_per_minute=138.8,
    pace="steady",
    filler_words=3,
    fillers_per_100_words=3.1,
    long_pauses=1,
    longest_pause_s=2.6,
    long_pause_s=2.0,
)
_ANSWER = "I have five years of backend work in Python. I led the move of our orders service to Postgres."
_READY_REPORT = ReportResponse(
    session_id=_SESSION,
    state="completed",
    status="ready",
    evaluator="llm",
    overall=OverallModel(score=72, band="good", summary="Overall 72/100 (good) over 1 answered question."),
    strengths=["Relevant background: I have five years of backend work in Python."],
    improvements=["Motivation for the role: say why this role and this company."],
    questions=[
        QuestionFeedback(
            question_id=1,
            question_text="Tell me about yourself.",
            question_type="introduction",
            answer_text=_ANSWER,
            status="ready",
            score=72,
            criteria=[
                CriterionModel(
                    name="background",
                    label="Relevant background",
                    score=4,
                    evidence=["I have five years of backend work in Python."],
                    comment="Years and the main technology, tied to backend work.",
                ),
                CriterionModel(
                    name="motivation",
                    label="Motivation for the role",
                    score=2,
                    evidence=[],
                    comment="No reason is given for this role.",
                ),
            ],
            strengths=["Relevant background"],
            improvements=["Motivation for the role"],
            evaluator="llm",
            evaluator_version="1+smollm2",
            delivery=_DELIVERY,
        )
    ],
    questions_answered=1,
    total_questions=1,
    html_url=f"http://localhost:8000/api/v1/interview/{_SESSION}/report?format=html",
    delivery=_DELIVERY,
)
ERROR_DETAILS: dict[str, object] = {
    "invalid_encoding": "The request body is not valid UTF-8.",
    "json_too_deep": "The request body's JSON is nested too deeply.",
    "unauthorized": "A valid API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
    "session_not_found": f"No interview session with id {_SESSION!r}.",
    "expired": f"Session {_SESSION} expired after 30 minutes without activity.",
    "media_not_found": f"No media named audio/{'3f' * 32}.mp3.",
    "not_found": "Not Found",
    "wrong_question": (
        "Question 3 is the current question, but the answer names question 2. "
        "Fetch the current question and answer that one."
    ),
    "session_finished": f"Session {_SESSION} is complete; it takes no more answers.",
    "concurrent_update": f"Session {_SESSION} was changed by another request; try again.",
    "payload_too_large": "The request body is larger than 1048576 bytes.",
    "range_not_satisfiable": "Range Not Satisfiable",
    "invalid_json": "The request body is not valid JSON.",
    "unsupported_media_type": "Send the bank as application/yaml or application/json.",
    "bank_not_found": "No bank named 'acme-backend'.",
    "bank_in_use": "Bank 'acme-backend' is used by sessions in progress; end them first.",
    "invalid_bank": [{"line": 4, "field": "questions[0].type", "message": "unknown question type 'quiz'"}],
    "rate_limited": "Too many requests; at most 60 per 1 minute.",
    "internal_error": "The server hit an unexpected error; it has been logged.",
    "provider_unavailable": "The server could not produce this question's media right now; try again shortly.",
}


def error_example(code: str) -> s.ErrorResponse:
    """The example error body of `code` for the document (a validation error lists one problem)."""
    if code == "validation_error":
        detail: object = [
            {"type": "missing", "loc": ["body", "answer_text"], "msg": "Field required", "input": {}}
        ]
    else:
        detail = ERROR_DETAILS.get(code, f"The request was refused ({code}).")
    return s.ErrorResponse(detail=detail, code=code)


def _summary(answered: int) -> s.SessionSummary:
    return s.SessionSummary(
        session_id=_SESSION,
        state="completed" if answered == 2 else "ended",
        created_at="2026-12-01T10:00:00Z",
        completed_at="2026-12-01T10:06:30Z",
        questions_answered=answered,
        total_questions=2,
        questions=[
            s.QuestionSummary(
                question_id=1,
                question_text="Tell me about yourself.",
                question_type="introduction",
                answer_text="I build backend services in Python and lead a small platform team.",
                word_count=12,
                seconds_to_answer=41.5,
            ),
            s.QuestionSummary(
                question_id=2,
                question_text="Why do you want this role?",
                question_type="closing",
                answer_text="It is the product I use every day." if answered == 2 else None,
                word_count=8 if answered == 2 else 0,
                seconds_to_answer=22.0 if answered == 2 else None,
            ),
        ],
    )


_BANK = s.BankModel(
    bank_id="acme-backend",
    version=2,
    name="Acme backend loop",
    format="2",
    question_count=12,
    question_types=["introduction", "technical", "closing"],
    roles=["backend"],
    created_at="2026-11-30T09:00:00+00:00",
    updated_at="2026-12-01T08:30:00+00:00",
    content="format: 2\nname: Acme backend loop\nquestions: []\n",
)


@functools.cache
def _examples() -> dict[str, BaseModel]:
    question = s.QuestionResponse(
        question_id=1,
        question_text="Tell me about yourself.",
        question_type="introduction",
        avatar_mode="audio_only",
        video_url=None,
        idle_video_url=None,
        audio_base64="SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjYxLjcuMTAwAAAAAAAAAAAAAAD/",
        audio_duration=1.32,
        word_timings=[
            s.WordTimingModel(word="Tell", start=0.05, end=0.28),
            s.WordTimingModel(word="me", start=0.28, end=0.41),
            s.WordTimingModel(word="about", start=0.41, end=0.72),
            s.WordTimingModel(word="yourself.", start=0.72, end=1.25),
        ],
        visemes=[
            s.VisemeModel(viseme="sil", start=0.0, end=0.05),
            s.VisemeModel(viseme="DD", start=0.05, end=0.12),
            s.VisemeModel(viseme="E", start=0.12, end=0.28),
        ],
        audio_url=_AUDIO,
        avatar_image_url=_IMAGE,
        current_question=1,
        total_questions=10,
        latency_ms=3,
        voice="piper:en_US-joe-medium",
        video_status="disabled",
    )
    examples: list[BaseModel] = [
        s.AnswerRequest(
            question_id=1, answer_text="I build backend services in Python and lead a small team."
        ),
        s.StartOptions(role="backend", seniority="senior", num_questions=8, seed=421),
        s.StartResponse(
            session_id=_SESSION,
            state="in_progress",
            total_questions=10,
            avatar_mode="audio_only",
            avatar_image_url=_IMAGE,
            idle_video_url=None,
        ),
        question,
        s.CompletionResponse(
            message="Congratulations! You have completed the interview.",
            questions_answered=2,
            session_summary=_summary(2),
        ),
        s.StatusResponse(
            session_id=_SESSION,
            state="in_progress",
            current_question=3,
            total_questions=10,
            is_complete=False,
            answers_recorded=2,
        ),
        s.EndResponse(message="Interview session ended.", session_id=_SESSION, summary=_summary(1)),
        s.HealthResponse(service="interviewai", version="0.2.0"),
        s.ReadyResponse(checks={"blobs": "ok", "store": "ok"}),
        s.AvatarStatusResponse(
            configured=False,
            mode="audio_only",
            presenter_id="v2_public_Amber@0zSz8kflCN",
            message="Audio-only: questions come with audio, word timings, visemes and a static avatar image.",
        ),
        s.InterviewInfoResponse(
            total_questions=10,
            question_types=["introduction", "behavioral", "situational", "technical", "closing"],
            estimated_duration_minutes=25,
            avatar_mode="audio_only",
            avatar_image_url=_IMAGE,
            idle_video_url=None,
            presenter_id="v2_public_Amber@0zSz8kflCN",
        ),
        s.VoicesResponse(
            voices=[
                s.VoiceModel(
                    name="Microsoft Server Speech Text to Speech Voice (en-US, JennyNeural)",
                    short_name="en-US-JennyNeural",
                    gender="Female",
                    locale="en-US",
                    engine="edge",
                    available=True,
                    source="live",
                ),
                s.VoiceModel(
                    name="joe (medium)",
                    short_name="en_US-joe-medium",
                    gender="Male",
                    locale="en-US",
                    engine="piper",
                    available=True,
                    source="bundled",
                ),
            ]
        ),
        s.MetricsResponse(
            syntheses=12,
            clips_created=0,
            video_on=False,
            speech_engines=[
                {
                    "engine": "piper",
                    "voice": "en_US-joe-medium",
                    "breaker": "closed",
                    "attempts": 12,
                    "successes": 12,
                    "failures": 0,
                    "skipped": 0,
                },
            ],
        ),
        error_example("session_not_found"),
        s.PlanResponse(
            questions=[
                s.PlannedQuestionModel(
                    question_id=1,
                    question_text="Tell me about yourself.",
                    question_type="introduction",
                    why="Every interview opens with an introduction.",
                ),
                s.PlannedQuestionModel(
                    question_id=112,
                    question_text="How would you design an idempotent payment API?",
                    question_type="technical",
                    why="Role backend, senior; skill api-design.",
                ),
            ],
            total_questions=8,
            seed=421,
            role="backend",
            skills=["api-design", "databases"],
            bank_id=None,
            bank_version=None,
            notes=[],
        ),
        s.RolesResponse(
            roles=[
                s.RoleModel(
                    id="backend",
                    name="Backend engineer",
                    question_count=24,
                    seniorities=["junior", "mid", "senior"],
                )
            ]
        ),
        _BANK,
        _READY_REPORT,
        s.BanksResponse(banks=[_BANK.model_copy(update={"content": None})]),
    ]
    return {type(example).__name__: example for example in examples}


def model_examples() -> dict[str, Any]:
    """Component name -> its example as JSON."""
    return {name: example.model_dump(mode="json") for name, example in _examples().items()}
