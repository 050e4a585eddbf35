"""indexes for the hot reads (cost per message independent of history); outbox claims and accounts across
processes; the org's revision (processes keep the org they read until an import changes it)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TICKET_INDEXES = {
    "ix_tickets_merge": ["unit_id", "domain", "opened_at"],
    "ix_tickets_unit_state": ["unit_id", "state"],
    "ix_tickets_assignee_state": ["assignee_id", "state"],
    "ix_tickets_community_opened": ["community_id", "opened_at"],
    "ix_tickets_community_resolved": ["community_id", "resolved_at"],
    "ix_tickets_state_resolved": ["state", "resolved_at"],
}
"""Each replaces a single-column index that is its prefix, where there was one."""
REPLACED = {
    "ix_tickets_unit_id": ["unit_id"],
    "ix_tickets_assignee_id": ["assignee_id"],
    "ix_tickets_community_id": ["community_id"],
}


def upgrade() -> None:
    op.create_table(
        "org_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_revision")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in REPLACED:
            batch_op.drop_index(name)
        for name, columns in TICKET_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("ticket_reporters", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_reporters_sender", ["platform", "sender_id", "reported_at"], unique=False)
    with op.batch_alter_table("ticket_reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_reminders_ticket_id")
        batch_op.create_index("ix_ticket_reminders_ticket_status", ["ticket_id", "status"], unique=False)
    with op.batch_alter_table("chat_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account", sa.String(length=64), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", storage.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_outbox_status")
        batch_op.create_index("ix_outbox_due", ["status", "platform", "not_before", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_status", ["status"], unique=False)
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("account")
    with op.batch_alter_table("chat_groups", schema=None) as batch_op:
        batch_op.drop_column("account")
    with op.batch_alter_table("ticket_reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_reminders_ticket_status")
        batch_op.create_index("ix_ticket_reminders_ticket_id", ["ticket_id"], unique=False)
    with op.batch_alter_table("ticket_reporters", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_reporters_sender")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in TICKET_INDEXES:
            batch_op.drop_index(name)
        for name, columns in REPLACED.items():
            batch_op.create_index(name, columns, unique=False)
    op.drop_table("org_revision")
