"""SQLAlchemy Core tables shared by the session store and the Alembic migrations."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text, false

metadata = MetaData()

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
    Column("completed_at", Float, nullable=True),
    Column("version", Integer, nullable=False, default=0),
    Column("bank_id", String(64), nullable=True, index=True),
    Column("bank_version", Integer, nullable=True),
    Column("feedback", String(8), nullable=False, server_default="end"),
    Column("follow_ups", Boolean, nullable=False, server_default=false()),
)

session_questions = Table(
    "session_questions",
    metadata,
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("question_id", Integer, nullable=False),
    Column("question_text", Text, nullable=False),
    Column("question_type", String(32), nullable=False),
    Column("served_at", Float, nullable=True),
    Column("answer_text", Text, nullable=True),
    Column("answered_at", Float, nullable=True),
    Column("why", Text, nullable=True),
    # JSON: roles, skills, seniority, key_points and rubric, so a session keeps its whole question.
    Column("question_meta", Text, nullable=True),
    # JSON of a spoken answer (words, metrics, recording); NULL for a typed one (migration 0005).
    Column("answer_speech", Text, nullable=True),
    Column("follow_up_kind", String(32), nullable=True),
    Column("follow_up_text", Text, nullable=True),
    Column("follow_up_served_at", Float, nullable=True),
    Column("follow_up_answer", Text, nullable=True),
    Column("follow_up_answered_at", Float, nullable=True),
)

media = Table(
    "media",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("owner", String(255), nullable=True),
    Column("claimed_at", Float, nullable=True),
    Column("provider_ref", String(128), nullable=True),
    Column("blob_name", String(200), nullable=True),
    Column("meta", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

banks = Table(
    "banks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("format", String(8), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("question_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("answer_sha", String(64), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("evaluator", String(64), nullable=True),
    Column("evaluator_version", String(64), nullable=True),
    Column("score", Integer, nullable=True),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)
