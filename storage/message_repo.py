"""Inbound messages: stored first, once per platform + message id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keys import pairs_in
from storage.models import Message

MESSAGES = cast(Table, Message.__table__)
COLUMNS = tuple(column.key for column in MESSAGES.columns if column.key != "id")


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
        wanted = pairs_in(Message.platform, Message.message_id, keys)
        rows = await self.session.execute(select(Message.platform, Message.message_id).where(wanted))
        return {(platform, message_id) for platform, message_id in rows.all()}

    @staticmethod
    def new(
        *,
        platform: str,
        message_id: str,
        chat_id: str,
        chat_name: str,
        sender_id: str,
        sender_name: str,
        text: str,
        truncated: bool,
        content_type: str,
        sent_at: datetime,
        kind: str | None = None,
        urgent: bool = False,
        domain: str | None = None,
        confidence: float | None = None,
        rules: list[str] | None = None,
    ) -> Message:
        """The row for one message, not yet written: ``insert`` writes a batch's rows in one statement (the
        handlers may still link it to a ticket first). A second copy of a stored message fails there, on the
        unique key."""
        return Message(
            platform=platform,
            message_id=message_id,
            chat_id=chat_id,
            chat_name=chat_name,
            sender_id=sender_id,
            sender_name=sender_name,
            text=text,
            truncated=truncated,
            content_type=content_type,
            sent_at=sent_at,
            kind=kind,
            urgent=urgent,
            domain=domain,
            confidence=confidence,
            rules=rules or [],
        )

    async def add(self, **fields: Any) -> Message:
        """One message, written now (``new`` and ``insert`` write a batch's together)."""
        row = self.new(**fields)
        self.session.add(row)
        await self.session.flush()
        return row

    async def insert(self, rows: Sequence[Message]) -> None:
        if rows:
            values = [{name: getattr(row, name) for name in COLUMNS} for row in rows]
            await self.session.execute(insert(MESSAGES), values)
