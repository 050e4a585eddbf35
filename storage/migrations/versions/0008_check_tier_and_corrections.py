"""the check tier on tickets, and corrections from the grid

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("check_due_at", storage.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_check_due_at"), ["check_due_at"], unique=False)

    op.create_table(
        "ticket_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_corrections_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_corrections")),
    )
    with op.batch_alter_table("ticket_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_corrections_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index("ix_ticket_corrections_community_at", ["community_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_corrections", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_corrections_community_at")
        batch_op.drop_index(batch_op.f("ix_ticket_corrections_ticket_id"))
    op.drop_table("ticket_corrections")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_check_due_at"))
        batch_op.drop_column("check_due_at")
        batch_op.drop_column("check_state")
