"""Inbound messages: stored first, once per platform + message id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keys import PairLookup
from storage.models import Message

MESSAGES = cast(Table, Message.__table__)
COLUMNS = tuple(column.key for column in MESSAGES.columns if column.key != "id")
_INSERT = insert(MESSAGES)
_EXISTING = PairLookup(select(Message.platform, Message.message_id), Message.platform, Message.message_id)


@dataclass(slots=True)
class MessageRow:
    """One message as it will be stored, not yet written: the handlers may still link it to a ticket before
    ``MessageRepo.insert`` writes a batch's rows. (A plain record: the ORM's instrumented object cost more to
    fill in than the message costs to store.)"""

    platform: str
    message_id: str
    chat_id: str
    chat_name: str
    sender_id: str
    sender_name: str
    text: str
    truncated: bool
    content_type: str
    sent_at: datetime
    kind: str | None = None
    urgent: bool = False
    domain: str | None = None
    confidence: float | None = None
    rules: list[str] = field(default_factory=list)
    ticket_id: int | None = None


class MessageRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, platform: str, message_id: str) -> bool:
        found = await self.session.scalar(
            select(Message.id).where(Message.platform == platform, Message.message_id == message_id)
        )
        return found is not None

    async def existing(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (platform, message id) are stored already: one query for a batch."""
        if not keys:
            return set()
        # Not "(platform, message_id) IN (VALUES ...)": SQLite would scan the whole index for that.
        rows = await self.session.execute(*_EXISTING.of(keys))
        return {(platform, message_id) for platform, message_id in rows.all()}

    async def add(self, **fields: Any) -> MessageRow:
        """One message, written now (``insert`` writes a batch's together)."""
        row = MessageRow(**fields)
        await self.insert([row])
        return row

    async def insert(self, rows: Sequence[MessageRow]) -> None:
        """A batch's rows in one statement; a second copy of a stored message fails here, on the unique key."""
        if rows:
            await self.session.execute(_INSERT, [{name: getattr(row, name) for name in COLUMNS} for row in rows])
