"""EvaluationStore on SQLAlchemy Core: one row per session question, written only for the current answer."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from interviewai.adapters.store.schema import evaluations
from interviewai.domain.evaluation import CriterionScore, Evaluation, EvaluationRecord, EvaluationStatus


def encode_evaluation(evaluation: Evaluation) -> str:
    """The JSON stored in an evaluation row's `result` column (criteria, strengths, improvements, fallback
    reason)."""
    document = {
        "criteria": [
            {
                "name": c.name,
                "label": c.label,
                "score": c.score,
                "evidence": list(c.evidence),
                "comment": c.comment,
                "weight": c.weight,
            }
            for c in evaluation.criteria
        ],
        "strengths": list(evaluation.strengths),
        "improvements": list(evaluation.improvements),
        "fallback_reason": evaluation.fallback_reason,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def decode_evaluation(row: RowMapping) -> Evaluation:
    """The Evaluation of a row whose status is ready (its columns plus the decoded `result`)."""
    document: dict[str, Any] = json.loads(row["result"])
    return Evaluation(
        evaluator=row["evaluator"],
        evaluator_version=row["evaluator_version"],
        score=int(row["score"]),
        criteria=tuple(
            CriterionScore(
                name=c["name"],
                label=c["label"],
                score=int(c["score"]),
                evidence=tuple(c["evidence"]),
                comment=c["comment"],
                weight=float(c.get("weight", 1.0)),
            )
            for c in document["criteria"]
        ),
        strengths=tuple(document["strengths"]),
        improvements=tuple(document["improvements"]),
        fallback_reason=document.get("fallback_reason"),
    )


def _record(row: RowMapping) -> EvaluationRecord:
    status = EvaluationStatus(row["status"])
    return EvaluationRecord(
        session_id=row["session_id"],
        position=row["position"],
        question_id=row["question_id"],
        status=status,
        answer_sha=row["answer_sha"],
        attempts=row["attempts"],
        evaluation=decode_evaluation(row) if status is EvaluationStatus.READY else None,
        error=row["error"],
        updated_at=row["updated_at"],
    )


class SqlEvaluationStore:
    """EvaluationStore on SQL; a result or failure lands only while the row's answer_sha is the one it was
    computed for."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def mark_pending(
        self, session_id: str, position: int, question_id: int, answer_sha: str, now: float
    ) -> None:
        """Upsert the row as pending for `answer_sha` (attempts 0, no result), replacing whatever was recorded
        for an older text."""
        values: dict[str, Any] = {
            "session_id": session_id,
            "position": position,
            "question_id": question_id,
            "status": EvaluationStatus.PENDING.value,
            "answer_sha": answer_sha,
            "attempts": 0,
            "evaluator": None,
            "evaluator_version": None,
            "score": None,
            "result": None,
            "error": None,
            "updated_at": now,
        }
        # An upsert: a re-evaluated answer (its follow-up was answered) starts over as pending.
        make_insert = sqlite_insert if self._engine.dialect.name == "sqlite" else postgres_insert
        changed = {k: v for k, v in values.items() if k not in {"session_id", "position"}}
        statement = make_insert(evaluations).values(**values)
        async with self._engine.begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(index_elements=["session_id", "position"], set_=changed)
            )

    async def store_result(
        self,
        session_id: str,
        position: int,
        answer_sha: str,
        evaluation: Evaluation,
        attempts: int,
        now: float,
    ) -> bool:
        """Write the result if the row is still for `answer_sha`; False (nothing written) when a newer text
        replaced it."""
        return await self._finish(
            session_id,
            position,
            answer_sha,
            status=EvaluationStatus.READY.value,
            attempts=attempts,
            evaluator=evaluation.evaluator,
            evaluator_version=evaluation.evaluator_version,
            score=evaluation.score,
            result=encode_evaluation(evaluation),
            error=None,
            updated_at=now,
        )

    async def store_failure(
        self, session_id: str, position: int, answer_sha: str, reason: str, attempts: int, now: float
    ) -> bool:
        """Write the failure if the row is still for `answer_sha`; False (nothing written) when a newer text
        replaced it."""
        return await self._finish(
            session_id,
            position,
            answer_sha,
            status=EvaluationStatus.FAILED.value,
            attempts=attempts,
            error=reason,
            updated_at=now,
        )

    async def for_session(self, session_id: str) -> list[EvaluationRecord]:
        """One SELECT of the session's rows, ordered by position."""
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(evaluations)
                    .where(evaluations.c.session_id == session_id)
                    .order_by(evaluations.c.position)
                )
            ).mappings()
            return [_record(row) for row in rows]

    async def _finish(self, session_id: str, position: int, answer_sha: str, **values: Any) -> bool:
        # Only the evaluation of the text stored now may land: a slower job for an older text loses.
        async with self._engine.begin() as connection:
            result = await connection.execute(
                self._update_row(session_id, position)
                .where(evaluations.c.answer_sha == answer_sha)
                .values(**values)
            )
            return int(result.rowcount) == 1

    @staticmethod
    def _update_row(session_id: str, position: int) -> Any:
        return update(evaluations).where(
            and_(evaluations.c.session_id == session_id, evaluations.c.position == position)
        )
