"""Raw messages are not kept forever: the retention job, run daily through the job runner.

Messages older than ``retention.messages_days`` are deleted, except those behind a ticket, which lose
their text and sender's name but keep the link (the ticket keeps its history and figures). Outbox rows
already dealt with (sent, failed, skipped, unknown) are deleted after the same time. Each run is recorded
in the audit log. Chatter from groups the org does not know is not kept in full at all (see the pipeline).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from bot.context import JobContext
from bot.jobs import JobOutcome
from storage.models import RETAINED_IN_FULL, AuditEntry, Message, OutboxItem, OutboxStatus

log = logging.getLogger(__name__)

BATCH = 5_000


async def purge_old_messages(ctx: JobContext) -> JobOutcome:
    """One batch of expired messages and outbox rows; ``more`` while there are others."""
    cutoff = ctx.now - timedelta(days=ctx.settings.retention.messages_days)
    s = ctx.session
    # Read through ix_messages_retention, which leaves out the emptied rows kept for their tickets: a run
    # reads what it deletes or empties, not everything it kept on earlier days.
    rows = (
        await s.execute(
            select(Message.id, Message.ticket_id)
            .where(Message.sent_at < cutoff, RETAINED_IN_FULL)
            .order_by(Message.sent_at)
            .limit(BATCH)
        )
    ).all()
    linked = [i for i, ticket in rows if ticket is not None]
    unlinked = [i for i, ticket in rows if ticket is None]
    if linked:
        await s.execute(
            update(Message)
            .where(Message.id.in_(linked))
            .values(text="", sender_name="")
            .execution_options(synchronize_session=False)
        )
    if unlinked:
        await s.execute(delete(Message).where(Message.id.in_(unlinked)).execution_options(synchronize_session=False))
    done = [OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SKIPPED, OutboxStatus.UNKNOWN]
    # An item is never due before it was written, so ``not_before`` bounds it too: read through that column's
    # index from the oldest, the run reads what it deletes, not the replies it keeps. The status is compared
    # through lower() so that no planner can walk every sent item by the status index instead (SQLite, which
    # keeps no statistics here, would).
    old_outbox = (
        await s.scalars(
            select(OutboxItem.id)
            .where(
                OutboxItem.not_before < cutoff, OutboxItem.created_at < cutoff, func.lower(OutboxItem.status).in_(done)
            )
            .order_by(OutboxItem.not_before)
            .limit(BATCH)
        )
    ).all()
    if old_outbox:
        await s.execute(
            delete(OutboxItem).where(OutboxItem.id.in_(old_outbox)).execution_options(synchronize_session=False)
        )
    more = len(rows) == BATCH or len(old_outbox) == BATCH
    if unlinked or old_outbox or linked:
        s.add(
            AuditEntry(
                at=ctx.now,
                actor="linli:retention",
                action="retention",
                subject=f"before {cutoff.isoformat()}",
                detail={"deleted": len(unlinked), "redacted": len(linked), "outbox": len(old_outbox)},
            )
        )
        log.info(
            "retention: %d message(s) deleted, %d kept for their tickets without text, %d outbox row(s) deleted",
            len(unlinked),
            len(linked),
            len(old_outbox),
        )
    return JobOutcome(more=more)
