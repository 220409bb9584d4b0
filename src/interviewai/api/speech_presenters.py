"""What a session summary says about spoken answers: per question, and averaged over the session."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from interviewai.api.deps import UrlBuilder
from interviewai.api.speech_schemas import SpeechMetricsModel, SpeechSummaryModel, TranscriptWordModel
from interviewai.domain.session import AskedQuestion, InterviewSession, SessionState


def recording_path(session_id: str, question_id: int) -> str:
    """The session-scoped URL path of a spoken answer's kept recording."""
    return f"/api/v1/interview/{session_id}/answers/{question_id}/audio"


def spoken_fields(session: InterviewSession, asked: AskedQuestion, urls: UrlBuilder | None) -> dict[str, Any]:
    """`answer_source`, `transcript_words`, `speech_metrics` and `answer_audio_url` of one question (the
    recordings of an ended session are deleted, so it then has no URL)."""
    speech = asked.speech
    if speech is None:
        return {"answer_source": asked.answer_source}
    live = session.state in {SessionState.IN_PROGRESS, SessionState.COMPLETED}
    kept = speech.audio_blob is not None and live
    return {
        "answer_source": asked.answer_source,
        "transcript_words": [TranscriptWordModel(**asdict(w)) for w in speech.words],
        "speech_metrics": SpeechMetricsModel(**asdict(speech.metrics)),
        "answer_audio_url": urls(recording_path(session.id, asked.question.id)) if kept and urls else None,
    }


def speech_summary(session: InterviewSession) -> SpeechSummaryModel | None:
    """Averages over the session's spoken answers; None when no answer was spoken."""
    metrics = [q.speech.metrics for q in session.questions if q.speech is not None and q.is_answered]
    if not metrics:
        return None
    count = len(metrics)
    return SpeechSummaryModel(
        spoken_answers=count,
        average_words_per_minute=round(sum(m.words_per_minute for m in metrics) / count, 1),
        average_filler_words=round(sum(m.filler_words for m in metrics) / count, 2),
        average_long_pauses=round(sum(m.long_pauses for m in metrics) / count, 2),
        longest_pause_s=max(m.longest_pause_s for m in metrics),
        total_speaking_s=round(sum(m.speaking_s for m in metrics), 3),
    )
