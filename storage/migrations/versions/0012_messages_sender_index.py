"""an index on who wrote a message where: a voter's own messages, not every message of the groups

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_sender", "messages", ["platform", "sender_id", "chat_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_sender", table_name="messages")
