"""Inbound messages: stored first, once per platform + message id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Message


class MessageRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, platform: str, message_id: str) -> bool:
        found = await self.session.scalar(
            select(Message.id).where(Message.platform == platform, Message.message_id == message_id)
        )
        return found is not None

    async def add(
        self,
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
    ) -> Message:
        row = Message(
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
            rules=[],
        )
        self.session.add(row)
        await self.session.flush()
        return row
