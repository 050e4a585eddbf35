"""outbox rows say what they are (topic); reminders no longer list outbox ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=16), server_default="reply", nullable=False))
    # A held reminder or escalation is now found by its topic: label the rows the reminders record named.
    bind = op.get_bind()
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("topic", sa.String))
    for action, ids in bind.execute(sa.text("SELECT action, outbox_ids FROM ticket_reminders")).all():
        listed = json.loads(ids) if isinstance(ids, str) else ids
        if isinstance(listed, list) and listed:
            bind.execute(outbox.update().where(outbox.c.id.in_(listed)).values(topic=action))
    with op.batch_alter_table("ticket_reminders", schema=None) as batch_op:
        batch_op.drop_column("outbox_ids")


def downgrade() -> None:
    with op.batch_alter_table("ticket_reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbox_ids", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("topic")
