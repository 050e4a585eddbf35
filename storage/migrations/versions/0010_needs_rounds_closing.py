"""an index on when needs rounds close: a batch of messages reads the rounds still open in one query

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("needs_rounds", schema=None) as batch_op:
        batch_op.create_index("ix_needs_rounds_closes_at", ["closes_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("needs_rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_needs_rounds_closes_at")
