"""SQLAlchemy Core tables shared by the session store and the Alembic migrations."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

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
)
