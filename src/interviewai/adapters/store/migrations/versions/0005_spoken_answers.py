"""Spoken answers: the words, metrics and recording of an answer given by voice (NULL: typed)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_spoken_answers"
down_revision = "0004_plans_and_banks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_questions") as table:
        table.add_column(sa.Column("answer_speech", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_questions") as table:
        table.drop_column("answer_speech")
