"""Photos join the report their sender just made; voice messages get a polite request for text."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.message import IncomingMessage
from bot.router import Reply, Router
from bot.texts import chat as texts
from handlers.common import answer

router = Router("media")


def is_image(msg: IncomingMessage, ctx: Context) -> bool:
    return msg.content_type == "image" and not msg.is_direct and ctx.unit_id is not None


def is_voice(msg: IncomingMessage, ctx: Context) -> bool:
    return msg.content_type == "voice" and (msg.is_direct or ctx.unit_id is not None)


@router.message(is_image)
async def handle_photo(msg: IncomingMessage, ctx: Context) -> Reply:
    window = timedelta(minutes=ctx.settings.tickets.photo_window_minutes)
    ticket = await ctx.tickets.recent_report(msg.platform, msg.sender_id, msg.chat_id, msg.time - window, msg.time)
    if ticket is None:
        return []
    ctx.stored.ticket_id = ticket.id
    await ctx.tickets.note(
        ticket, actor=ctx.actor(msg.platform, msg.sender_id), action="attach", at=msg.time, note=msg.message_id
    )
    return [answer(msg, texts.photo_attached(ticket.id))]


@router.message(is_voice)
async def handle_voice(msg: IncomingMessage, ctx: Context) -> Reply:
    return [answer(msg, texts.voice_reply(""))]
