"""an index on the messages retention has yet to deal with: the emptied rows kept for tickets are left out

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RETAINED_IN_FULL = sa.text("ticket_id IS NULL OR text != '' OR sender_name != ''")


def upgrade() -> None:
    op.create_index(
        "ix_messages_retention",
        "messages",
        ["sent_at"],
        unique=False,
        postgresql_where=RETAINED_IN_FULL,
        sqlite_where=RETAINED_IN_FULL,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_retention", table_name="messages")
