"""The only way out: what handlers and jobs return becomes outbox rows here, and nowhere else.

Rows are written in the caller's transaction (the pipeline's for a message, the job runner's for a job),
so nobody is told about a change that was rolled back; ``bot.delivery`` sends them after the commit.
The quiet-hours rule lives here too: a message that may be held (``hold``) waits until the quiet hours
end; everything else goes at once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.message import DirectMessage, OutgoingMessage, Say, SendImage, Topic
from bot.texts.names import mask_personal
from config.schedule import QuietHours
from config.settings import Settings
from storage.models import OutboxItem, OutboxStatus

OUTBOX = cast(Table, OutboxItem.__table__)
URGENT, PRESSING = 2, 1
"""Outbox priorities: what is due leaves highest first (``OutboxRepo.due``)."""


def to_message(item: OutboxItem) -> OutgoingMessage:
    """The message an outbox row carries, as the adapter will send it."""
    topic = Topic(item.topic) if item.topic in Topic.__members__.values() else Topic.REPLY
    common: dict[str, Any] = {"ticket": item.ticket_id, "topic": topic}
    if item.kind == "say":
        return Say(item.platform, item.chat_id or "", item.text, tuple(item.mentions), **common)
    if item.kind == "dm":
        return DirectMessage(item.platform, item.recipient or "", item.text, **common)
    return SendImage(item.platform, item.chat_id or "", item.image_path or "", item.text, **common)


class Outbox:
    def __init__(self, quiet: QuietHours, tz: tzinfo) -> None:
        self.quiet = quiet
        self.tz = tz

    @classmethod
    def of(cls, settings: Settings) -> Outbox:
        return cls(settings.schedule.quiet_hours, ZoneInfo(settings.timezone))

    def send_at(self, message: OutgoingMessage, now: datetime) -> datetime:
        """When ``message`` goes out if emitted at ``now``: at once, or when the quiet hours end if it may wait."""
        return self.quiet.release_at(now, self.tz) if message.hold else now

    @staticmethod
    def priority(message: OutgoingMessage, urgent: bool) -> int:
        """2: about an urgent or ``check`` message; 1: a notice that may not wait (only urgent tickets'
        notices, reminders and escalations are never held); 0: everything else."""
        if urgent:
            return URGENT
        if not message.hold and message.topic in (Topic.NOTICE, Topic.REMIND, Topic.ESCALATE):
            return PRESSING
        return 0

    def row(
        self,
        message: OutgoingMessage,
        *,
        now: datetime,
        ticket_id: int | None,
        in_reply_to: str | None,
        urgent: bool = False,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "priority": self.priority(message, urgent),
            "created_at": now,
            "not_before": self.send_at(message, now),
            "platform": message.platform,
            "kind": message.kind,
            "topic": message.topic.value,
            "chat_id": None,
            "recipient": None,
            "text": "",
            "mentions": [],
            "image_path": None,
            "in_reply_to": in_reply_to,
            "ticket_id": message.ticket if message.ticket is not None else ticket_id,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
        }
        if isinstance(message, Say):
            values.update(chat_id=message.chat_id, text=message.text, mentions=list(message.mentions))
        elif isinstance(message, DirectMessage):
            # A direct message goes to someone on the grid, not to the group the number was posted in.
            values.update(recipient=message.to, text=mask_personal(message.text))
        elif isinstance(message, SendImage):
            values.update(chat_id=message.chat_id, image_path=message.path, text=message.caption)
        return values

    async def emit(
        self,
        session: AsyncSession,
        messages: Sequence[OutgoingMessage],
        *,
        now: datetime,
        ticket_id: int | None = None,
        in_reply_to: str | None = None,
        urgent: bool = False,
    ) -> list[int]:
        """Write ``messages`` to the outbox in ``session``'s transaction; their row ids, in order.

        ``ticket_id`` is the ticket for messages that do not name one; ``in_reply_to`` the inbound message id;
        ``urgent``: they answer an urgent or ``check`` message, so they leave before everything else.
        """
        if not messages:
            return []
        rows = [self.row(m, now=now, ticket_id=ticket_id, in_reply_to=in_reply_to, urgent=urgent) for m in messages]
        # Core, not the ORM's bulk insert: no ORM objects, and one INSERT ... RETURNING per batch of rows.
        statement = insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True)
        result = await session.execute(statement, rows)
        return list(result.scalars().all())

    @staticmethod
    async def withdraw(
        session: AsyncSession, ticket_ids: Collection[int], topics: Collection[Topic], *, now: datetime
    ) -> set[int]:
        """Take back the messages of ``topics`` about ``ticket_ids`` that the quiet hours still hold at ``now``
        (reminders overtaken by the ticket's progress); returns the tickets that had any."""
        if not ticket_ids:
            return set()
        withdrawn: set[int] = set()
        ids = sorted(ticket_ids)
        for start in range(0, len(ids), 500):
            where = (
                OutboxItem.ticket_id.in_(ids[start : start + 500]),
                OutboxItem.topic.in_([t.value for t in topics]),
                OutboxItem.status == OutboxStatus.PENDING,
                OutboxItem.not_before > now,
            )
            found = await session.scalars(select(OutboxItem.ticket_id).where(*where).distinct())
            withdrawn.update(t for t in found.all() if t is not None)
            await session.execute(
                update(OutboxItem)
                .where(*where)
                .values(status=OutboxStatus.SKIPPED, error="overtaken before it was sent")
                .execution_options(synchronize_session=False)
            )
        return withdrawn
