"""The check tier's clock: a check nobody answered in time counts as urgent, and the whole grid is told.

The database is the source of truth: a pending check carries ``check_due_at`` on its ticket row. The job
``escalate_unanswered_checks`` takes a lock row (one run at a time across processes), reads the checks
whose time is up and lets the lifecycle settle each one; settling is a conditional update, so an answer
that arrives in another process at the same moment and this job cannot both win.
"""

from __future__ import annotations

import logging

from bot.context import JobContext
from bot.jobs import JobOutcome
from handlers import lifecycle
from storage.check_repo import CheckRepo

log = logging.getLogger(__name__)

BATCH = 200


async def escalate_unanswered_checks(ctx: JobContext) -> JobOutcome:
    """The job: every check whose answer was due by ``ctx.now`` becomes urgent; ``more`` while batches are full."""
    checks = CheckRepo(ctx.session)
    await checks.lock(ctx.now)
    due = await checks.unanswered(ctx.now, BATCH)
    outcome = JobOutcome(more=len(due) == BATCH)
    for ticket in due:
        result = await lifecycle.check_unanswered(ctx, ticket, ctx.now)
        if result is None:
            continue
        outcome.messages.extend(result.messages(ticket))
        outcome.report.append(ticket.id)
        log.warning("ticket #%d: check unanswered in time, now urgent", ticket.id)
    return outcome
