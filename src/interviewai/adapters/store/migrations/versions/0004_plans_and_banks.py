"""Plans: each session question keeps why it was chosen and its full definition; custom banks, versioned."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_plans_and_banks"
down_revision = "0003_media_owner_width"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_questions") as batch:
        batch.add_column(sa.Column("why", sa.Text, nullable=True))
        batch.add_column(sa.Column("question_meta", sa.Text, nullable=True))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("bank_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("bank_version", sa.Integer, nullable=True))
    op.create_index("ix_sessions_bank_id", "sessions", ["bank_id"])
    op.create_table(
        "banks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("banks")
    op.drop_index("ix_sessions_bank_id", "sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("bank_version")
        batch.drop_column("bank_id")
    with op.batch_alter_table("session_questions") as batch:
        batch.drop_column("question_meta")
        batch.drop_column("why")
