"""deadline state on tickets, the reminders record and scheduled job runs

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOCK_STATES = ("open", "assigned", "accepted", "escalated", "reopened")


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_due_at", storage.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("sla_stage", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("sla_cycle", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("sla_step", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("sla_started_at", storage.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_deadline_at", storage.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_sla_due_at"), ["sla_due_at"], unique=False)

    # Tickets opened before this revision are looked at by the first sweep.
    tickets = sa.table("tickets", sa.column("state", sa.String), sa.column("opened_at"), sa.column("sla_due_at"))
    op.execute(tickets.update().where(tickets.c.state.in_(CLOCK_STATES)).values(sla_due_at=tickets.c.opened_at))

    op.create_table(
        "ticket_reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("outbox_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_reminders_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_reminders")),
        sa.UniqueConstraint("ticket_id", "cycle", "step", name=op.f("uq_ticket_reminders_ticket_id")),
    )
    with op.batch_alter_table("ticket_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_reminders_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("job", "key", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    with op.batch_alter_table("ticket_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_reminders_ticket_id"))
    op.drop_table("ticket_reminders")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_sla_due_at"))
        batch_op.drop_column("sla_deadline_at")
        batch_op.drop_column("sla_started_at")
        batch_op.drop_column("sla_step")
        batch_op.drop_column("sla_cycle")
        batch_op.drop_column("sla_stage")
        batch_op.drop_column("sla_state")
        batch_op.drop_column("sla_due_at")
