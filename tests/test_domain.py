"""The session state machine, the question bank and the settings, without I/O."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from interviewai.adapters.question_bank import load_question_bank
from interviewai.domain.errors import SessionExpired, SessionFinished, WrongQuestion
from interviewai.domain.questions import Question, QuestionType
from interviewai.domain.session import InterviewSession, SessionState, new_session_id
from interviewai.settings import AvatarMode, Settings, SettingsError, load_settings

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _session(count: int = 3) -> InterviewSession:
    questions = tuple(
        Question(id=i * 10, text=f"Question {i}?", type=QuestionType.BEHAVIORAL) for i in range(1, count + 1)
    )
    return InterviewSession.start(new_session_id(), questions, T0)


def test_answers_advance_in_order_and_complete() -> None:
    session = _session()
    assert session.current is not None and session.current.question.id == 10
    session = session.serve_current(T0 + timedelta(seconds=1))
    outcome = session.answer(10, "one", T0 + timedelta(seconds=5))
    assert outcome.changed
    session = outcome.session
    assert session.questions[0].seconds_to_answer == 4.0
    assert session.current is not None and session.current.question.id == 20
    session = session.answer(20, "two words", T0 + timedelta(seconds=6)).session
    session = session.answer(30, "three", T0 + timedelta(seconds=7)).session
    assert session.state is SessionState.COMPLETED
    assert session.completed_at == T0 + timedelta(seconds=7)
    assert session.current is None and session.current_question_number == 3
    assert session.questions[1].answer_word_count == 2


def test_serving_twice_keeps_the_first_time() -> None:
    session = _session().serve_current(T0 + timedelta(seconds=1)).serve_current(T0 + timedelta(seconds=9))
    assert session.questions[0].served_at == T0 + timedelta(seconds=1)


def test_wrong_and_finished_answers_are_refused() -> None:
    session = _session(1)
    with pytest.raises(WrongQuestion):
        session.answer(99, "x", T0)
    done = session.answer(10, "x", T0).session
    assert done.answer(10, "x", T0).changed is False
    with pytest.raises(SessionFinished):
        done.answer(10, "different", T0)
    with pytest.raises(SessionFinished):
        _session().end(T0).answer(10, "x", T0)


def test_expiry_counts_from_last_activity() -> None:
    session = _session()
    session.ensure_active(T0 + timedelta(minutes=29), timedelta(minutes=30))
    with pytest.raises(SessionExpired):
        session.ensure_active(T0 + timedelta(minutes=31), timedelta(minutes=30))


def test_session_ids_are_long_and_unique() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) >= len("session_") + 32 for i in ids)


def test_packaged_bank_has_the_seed_mix() -> None:
    bank = load_question_bank(None)
    assert [q.type.value for q in bank.questions] == [
        "introduction", "behavioral", "behavioral", "behavioral", "situational",
        "situational", "technical", "technical", "behavioral", "closing",
    ]  # fmt: skip
    assert [q.id for q in bank.questions] == list(range(1, 11))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("tts_rate", "10%"),
        ("tts_volume", "+1.5%"),
        ("tts_pitch", "+5%"),
        ("port", "99999"),
        ("session_timeout_s", "-1"),
        ("tts_engines", "edge,festival"),
        ("avatar_mode", "hologram"),
    ],
)
def test_invalid_settings_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable.upper()):
        load_settings(**{variable: value, "_env_file": None})


def test_video_mode_without_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="DID_API_KEY"):
        load_settings(avatar_mode="video", did_api_key="", _env_file=None)


def test_avatar_mode_follows_the_key() -> None:
    assert Settings(did_api_key="", _env_file=None).effective_avatar_mode is AvatarMode.AUDIO_ONLY
    assert Settings(did_api_key="k:s", _env_file=None).effective_avatar_mode is AvatarMode.VIDEO
    assert (
        Settings(did_api_key="k:s", avatar_mode="audio_only", _env_file=None).effective_avatar_mode
        is AvatarMode.AUDIO_ONLY
    )


def test_s3_blob_store_needs_an_endpoint() -> None:
    with pytest.raises(SettingsError, match="S3_ENDPOINT_URL"):
        load_settings(blob_store="s3", s3_endpoint_url="", _env_file=None)
