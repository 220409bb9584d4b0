"""Answer feedback: session options (feedback mode, follow-ups), follow-up questions, evaluations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_evaluations"
down_revision = "0005_spoken_answers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("feedback", sa.String(8), nullable=False, server_default="end"))
        batch.add_column(sa.Column("follow_ups", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("session_questions") as batch:
        batch.add_column(sa.Column("follow_up_kind", sa.String(32), nullable=True))
        batch.add_column(sa.Column("follow_up_text", sa.Text, nullable=True))
        batch.add_column(sa.Column("follow_up_served_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("follow_up_answer", sa.Text, nullable=True))
        batch.add_column(sa.Column("follow_up_answered_at", sa.Float, nullable=True))
    op.create_table(
        "evaluations",
        sa.Column(
            "session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("question_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer_sha", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("evaluator", sa.String(64), nullable=True),
        sa.Column("evaluator_version", sa.String(64), nullable=True),
        sa.Column("score", sa.Integer, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("evaluations")
    with op.batch_alter_table("session_questions") as batch:
        for name in (
            "follow_up_answered_at",
            "follow_up_answer",
            "follow_up_served_at",
            "follow_up_text",
            "follow_up_kind",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("follow_ups")
        batch.drop_column("feedback")
