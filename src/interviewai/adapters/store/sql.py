"""SessionStore on SQLAlchemy Core (SQLite or PostgreSQL) with compare-and-set saves."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timezone

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from interviewai.adapters.store.guard import DEFAULT_DEADLINE_S, GuardedEngine
from interviewai.adapters.store.question_codec import decode_question, encode_meta
from interviewai.adapters.store.schema import evaluations, session_questions, sessions
from interviewai.adapters.store.spoken_answers import speech_from_json, speech_to_json
from interviewai.domain.errors import ConcurrentUpdate
from interviewai.domain.session import AskedQuestion, FeedbackMode, FollowUp, InterviewSession, SessionState


def _to_epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _from_epoch(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=timezone.utc) if value is not None else None


def _asked_from_row(row: RowMapping) -> AskedQuestion:
    return AskedQuestion(
        position=row["position"],
        question=decode_question(
            row["question_id"], row["question_text"], row["question_type"], row["question_meta"]
        ),
        served_at=_from_epoch(row["served_at"]),
        answer_text=row["answer_text"],
        answered_at=_from_epoch(row["answered_at"]),
        why=row["why"] or "",
        speech=speech_from_json(row["answer_speech"]),
        follow_up=_follow_up_from_row(row),
    )


def _follow_up_from_row(row: RowMapping) -> FollowUp | None:
    if row["follow_up_text"] is None:
        return None
    return FollowUp(
        kind=row["follow_up_kind"] or "",
        text=row["follow_up_text"],
        served_at=_from_epoch(row["follow_up_served_at"]),
        answer_text=row["follow_up_answer"],
        answered_at=_from_epoch(row["follow_up_answered_at"]),
    )


def _follow_up_columns(asked: AskedQuestion) -> dict[str, object]:
    follow_up = asked.follow_up
    return {
        "follow_up_kind": follow_up.kind if follow_up else None,
        "follow_up_text": follow_up.text if follow_up else None,
        "follow_up_served_at": _to_epoch(follow_up.served_at) if follow_up else None,
        "follow_up_answer": follow_up.answer_text if follow_up else None,
        "follow_up_answered_at": _to_epoch(follow_up.answered_at) if follow_up else None,
    }


# Sessions whose questions a read may reuse (about 10 KB each).
RECENT_SESSIONS = 2048
_SESSION_ROW = select(sessions).where(sessions.c.id == bindparam("session_id"))


class SqlSessionStore:
    """Sessions and their questions in two tables; the `version` column guards concurrent answers.

    Every write of a session's questions (save, expiry) bumps its version, so a read takes the `sessions`
    row and reuses the questions it last read for that id at that version: one statement instead of two
    (a question asked again costs one round trip through the driver, not two and the decoding).
    """

    def __init__(self, engine: AsyncEngine, *, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self._db = GuardedEngine(engine, deadline_s)
        self._recent: OrderedDict[str, InterviewSession] = OrderedDict()

    def _remember(self, session: InterviewSession) -> None:
        self._recent[session.id] = session
        self._recent.move_to_end(session.id)
        if len(self._recent) > RECENT_SESSIONS:
            self._recent.popitem(last=False)

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers a trivial query in time."""
        await self._db.ping()

    async def create(self, session: InterviewSession) -> None:
        """Insert the session row and its question rows in one transaction."""
        async with self._db.begin() as connection:
            await connection.execute(
                insert(sessions).values(
                    id=session.id,
                    state=session.state.value,
                    created_at=_to_epoch(session.created_at),
                    updated_at=_to_epoch(session.updated_at),
                    completed_at=_to_epoch(session.completed_at),
                    version=session.version,
                    bank_id=session.bank_id,
                    bank_version=session.bank_version,
                    feedback=session.feedback.value,
                    follow_ups=session.follow_ups,
                )
            )
            await connection.execute(
                insert(session_questions),
                [
                    {
                        "session_id": session.id,
                        "position": asked.position,
                        "question_id": asked.question.id,
                        "question_text": asked.question.text,
                        "question_type": asked.question.type.value,
                        "served_at": _to_epoch(asked.served_at),
                        "answer_text": asked.answer_text,
                        "answered_at": _to_epoch(asked.answered_at),
                        "why": asked.why or None,
                        "question_meta": encode_meta(asked.question),
                        "answer_speech": speech_to_json(asked.speech),
                        **_follow_up_columns(asked),
                    }
                    for asked in session.questions
                ],
            )

    async def get(self, session_id: str) -> InterviewSession | None:
        """One SELECT of the session row; its questions are read only when its version differs from the copy
        last read (see the class docstring)."""
        row = await self._db.first(_SESSION_ROW, {"session_id": session_id})
        if row is None:
            self._recent.pop(session_id, None)
            return None
        known = self._recent.get(session_id)
        if known is not None and known.version == row["version"]:
            questions = known.questions
        else:
            # Read after the row: questions newer than its version are caught by the next read's version
            # check, and a save from this snapshot by the compare-and-set.
            async with self._db.connect() as connection:
                question_rows = (
                    await connection.execute(
                        select(session_questions)
                        .where(session_questions.c.session_id == session_id)
                        .order_by(session_questions.c.position)
                    )
                ).mappings()
                questions = tuple(_asked_from_row(q) for q in question_rows)
        created_at = _from_epoch(row["created_at"])
        updated_at = _from_epoch(row["updated_at"])
        assert created_at is not None and updated_at is not None
        session = InterviewSession(
            id=row["id"],
            state=SessionState(row["state"]),
            created_at=created_at,
            updated_at=updated_at,
            completed_at=_from_epoch(row["completed_at"]),
            questions=questions,
            version=row["version"],
            bank_id=row["bank_id"],
            bank_version=row["bank_version"],
            feedback=FeedbackMode(row["feedback"]),
            follow_ups=bool(row["follow_ups"]),
        )
        self._remember(session)
        return session

    async def save(self, session: InterviewSession) -> InterviewSession:
        """Update the session row where its version is still `session.version` (compare-and-set), then its
        questions, in one transaction; ConcurrentUpdate when another write came first."""
        async with self._db.begin() as connection:
            result = await connection.execute(
                update(sessions)
                .where(and_(sessions.c.id == session.id, sessions.c.version == session.version))
                .values(
                    state=session.state.value,
                    updated_at=_to_epoch(session.updated_at),
                    completed_at=_to_epoch(session.completed_at),
                    version=session.version + 1,
                )
            )
            if result.rowcount != 1:
                raise ConcurrentUpdate(f"Session {session.id} was changed by another request; try again.")
            for asked in session.questions:
                await connection.execute(
                    update(session_questions)
                    .where(
                        and_(
                            session_questions.c.session_id == session.id,
                            session_questions.c.position == asked.position,
                        )
                    )
                    .values(
                        served_at=_to_epoch(asked.served_at),
                        answer_text=asked.answer_text,
                        answered_at=_to_epoch(asked.answered_at),
                        answer_speech=speech_to_json(asked.speech),
                        **_follow_up_columns(asked),
                    )
                )
        return replace(session, version=session.version + 1)

    async def expire_inactive(self, inactive_since: datetime, forget_before: datetime) -> int:
        """In one transaction: mark idle live sessions expired and delete their questions, then delete
        tombstones idle since `forget_before`."""
        idle = sessions.c.updated_at < inactive_since.timestamp()
        live = sessions.c.state != SessionState.EXPIRED.value
        expired = sessions.c.state == SessionState.EXPIRED.value
        async with self._db.begin() as connection:
            # Sessions first, then their questions: the order `save` locks them in. The update
            # re-checks each row it waited for (PostgreSQL), so a session answered meanwhile stays
            # live, and its content is deleted only once the tombstone is really written.
            result = await connection.execute(
                update(sessions)
                .where(and_(idle, live))
                .values(state=SessionState.EXPIRED.value, version=sessions.c.version + 1)
            )
            expired_ids = select(sessions.c.id).where(and_(idle, expired))
            await connection.execute(
                delete(session_questions).where(session_questions.c.session_id.in_(expired_ids))
            )
            # Feedback quotes the answers, so it goes with them.
            await connection.execute(delete(evaluations).where(evaluations.c.session_id.in_(expired_ids)))
            await connection.execute(
                delete(sessions).where(and_(expired, sessions.c.updated_at < forget_before.timestamp()))
            )
            return int(result.rowcount)
