"""绑定 (bind an unknown group to the grid), 帮助, and a hint for direct messages that are not commands."""

from __future__ import annotations

import logging

from bot.context import Context
from bot.message import IncomingMessage
from bot.router import Reply, Router
from bot.texts import chat as texts
from handlers.common import answer
from handlers.council_grid import on_council
from nlp.command import Audience, Verb
from storage.models import Role, Unit

log = logging.getLogger(__name__)

router = Router("admin_commands")


def in_group(msg: IncomingMessage, ctx: Context) -> bool:
    return not msg.is_direct


def is_plain_dm(msg: IncomingMessage, ctx: Context) -> bool:
    return msg.is_direct and ctx.command is None and bool(msg.text.strip())


@router.command(Verb.HELP)
async def handle_help(msg: IncomingMessage, ctx: Context) -> Reply:
    audiences = [Audience.RESIDENT]
    if ctx.sender is not None and ctx.sender.role != Role.RESIDENT:
        audiences.append(Audience.GRID)
    if ctx.sender is not None and ctx.sender.role == Role.COMMITTEE:
        audiences.append(Audience.COMMITTEE)
    if await on_council(ctx, ctx.sender):
        audiences.append(Audience.COUNCIL)
    return [answer(msg, texts.help_text(audiences))]


async def _find_unit(ctx: Context, name: str, community_id: str) -> Unit | None:
    wanted = name.strip()
    for unit in await ctx.org.units_in(community_id):
        if wanted in (unit.id, unit.name):
            return unit
    return None


@router.command(Verb.BIND, in_group)
async def handle_bind(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    assert ctx.group is not None
    if ctx.sender is None or ctx.sender.role != Role.COMMITTEE:
        log.info("refused 绑定 in %s:%s from %s", msg.platform, msg.chat_id, msg.sender_id)
        return [answer(msg, texts.bind_not_allowed())]
    if ctx.group.unit_id is not None:
        unit = await ctx.org.unit(ctx.group.unit_id)
        return [answer(msg, texts.already_bound(ctx.group.name or msg.chat_name, unit.name if unit else ""))]
    own = await ctx.org.unit(ctx.sender.unit_id)
    unit = await _find_unit(ctx, ctx.command.argument, own.community_id) if own else None
    if unit is None:
        return [answer(msg, texts.bind_unknown(ctx.command.argument))]
    ctx.group.unit_id = unit.id
    ctx.group.name = ctx.group.name or msg.chat_name
    log.info("group %s:%s bound to %s by %s", msg.platform, msg.chat_id, unit.id, ctx.sender.id)
    return [answer(msg, texts.bound(ctx.group.name or msg.chat_name, unit.name))]


@router.message(is_plain_dm)
async def handle_plain_dm(msg: IncomingMessage, ctx: Context) -> Reply:
    return [answer(msg, texts.dm_hint())]
