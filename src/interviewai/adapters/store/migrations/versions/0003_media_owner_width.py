"""Widen media.owner: an owner id is "hostname:pid:random" and a hostname alone may be 64 characters."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_media_owner_width"
down_revision = "0002_media"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite never enforces VARCHAR lengths, so only a server that does needs the (metadata-only) change;
    # on SQLite batch mode would rebuild the table for nothing.
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "media", "owner", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=True
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "media", "owner", type_=sa.String(64), existing_type=sa.String(255), existing_nullable=True
    )
