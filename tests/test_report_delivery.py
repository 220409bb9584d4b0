"""Delivery figures of spoken answers in the report: per question and overall, in JSON and HTML."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.adapters.store.database import create_engine, migrate
from interviewai.adapters.store.evaluations import SqlEvaluationStore
from interviewai.adapters.store.sql import SqlSessionStore
from interviewai.api.deps import UrlBuilder
from interviewai.api.report_presenter import report_html, report_response
from interviewai.domain.evaluation import AnswerToJudge, CriterionScore, Evaluation
from interviewai.domain.questions import Question, QuestionType
from interviewai.domain.recognition import RecognizedWord, SpokenAnswer, speech_metrics
from interviewai.domain.report import overall_delivery, pace_for
from interviewai.domain.session import InterviewSession
from interviewai.services.evaluation import EvaluationService

QUESTIONS = (
    Question(1, "Tell me about yourself.", QuestionType.INTRODUCTION),
    Question(2, "Describe a hard bug.", QuestionType.BEHAVIORAL),
    Question(3, "What would you ask us?", QuestionType.CLOSING),
)


def spoken(text: str, seconds_per_word: float, pause_after: int | None = None) -> SpokenAnswer:
    """Words at a steady rate, with one 3 s silence after word `pause_after`."""
    words: list[RecognizedWord] = []
    at = 0.5
    for index, word in enumerate(text.split()):
        words.append(RecognizedWord(word, at, at + seconds_per_word * 0.8, 0.9))
        at += seconds_per_word + (3.0 if index == pause_after else 0.0)
    heard = tuple(words)
    return SpokenAnswer(heard, speech_metrics(heard, at + 0.5), "whisper:tiny", "0" * 64)


class FixedEvaluator:
    name = "fixed"
    version = "0"

    async def evaluate(self, answer: AnswerToJudge) -> Evaluation:
        return Evaluation("fixed", "0", 60, (CriterionScore("clarity", "Clarity", 3, (), "Fine."),))


async def test_spoken_answers_carry_pace_fillers_and_pauses(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'delivery.db'}")
    await migrate(engine)
    jobs = TaskiqJobQueue.in_process()
    await jobs.start()
    try:
        sessions = SqlSessionStore(engine)
        service = EvaluationService(SqlEvaluationStore(engine), sessions, FixedEvaluator(), jobs)
        now = datetime.now(timezone.utc)
        session = InterviewSession.start("session_spoken", QUESTIONS, now)
        await sessions.create(session)
        # 0.5 s a word is 120 wpm; 0.25 s is 240 wpm; "um" and "uh" are fillers; one long pause in the first.
        first = "I am um a backend engineer and uh I build APIs for logistics teams at scale"
        fast = "The bug was a race in our cache so I added a lock and wrote a test for it"
        for question_id, text, speech in (
            (1, first, spoken(first, 0.5, pause_after=4)),
            (2, fast, spoken(fast, 0.25)),
            (3, "Typed: what does the team work on next?", None),
        ):
            session = await sessions.save(session.answer(question_id, text, now, speech).session)
        report = await service.report("session_spoken")
        one, two, typed = report.questions
        assert one.delivery is not None and two.delivery is not None and typed.delivery is None
        assert one.delivery.filler_words == 2 and one.delivery.long_pauses == 1
        assert one.delivery.longest_pause_s == pytest.approx(3.1, abs=0.01)
        assert two.delivery.pace == "fast" and two.delivery.long_pauses == 0
        assert two.delivery.words_per_minute == pytest.approx(
            len(fast.split()) / (two.delivery.speaking_s / 60), abs=0.1
        )
        overall = report.delivery
        assert overall is not None and overall.spoken_answers == 2
        assert overall.words == len(first.split()) + len(fast.split())
        assert overall.filler_words == 2 and overall.long_pauses == 1
        assert overall.speaking_s == pytest.approx(one.delivery.speaking_s + two.delivery.speaking_s)
        assert overall == overall_delivery([one.delivery, two.delivery])

        body = report_response(report, UrlBuilder("http://testserver")).model_dump(mode="json")
        assert body["delivery"]["spoken_answers"] == 2 and body["delivery"]["filler_words"] == 2
        spoken_q = body["questions"][0]["delivery"]
        assert set(spoken_q) >= {"words_per_minute", "pace", "filler_words", "long_pauses", "longest_pause_s"}
        assert body["questions"][2]["delivery"] is None
        page = report_html(report_response(report, UrlBuilder("http://testserver")))
        assert f"{overall.words_per_minute} words/min" in page and "over 2 spoken answers" in page
        assert f"Pace <strong>{two.delivery.words_per_minute} words/min</strong> (fast)" in page
    finally:
        await jobs.aclose()
        await engine.dispose()


def test_no_spoken_answers_no_delivery_and_the_pace_bands() -> None:
    assert overall_delivery([]) is None
    assert [pace_for(w) for w in (90.0, 140.0, 200.0)] == ["slow", "steady", "fast"]
