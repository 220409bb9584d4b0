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
