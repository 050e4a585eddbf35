"""楼长积分: points by configurable rules, and the 积分 / 排行 commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from bot import texts
from bot.context import Context
from bot.message import IncomingMessage
from bot.router import Reply, Router
from handlers.common import answer
from nlp.command import Verb
from storage.models import Person, PointEntry, Ticket, Unit

router = Router("points")


async def award(ctx: Context, person_id: str, ticket: Ticket, reason: str, amount: int, at: datetime) -> bool:
    """Record points once per person, ticket and reason; False if already recorded."""
    exists = await ctx.session.scalar(
        select(PointEntry.id).where(
            PointEntry.person_id == person_id, PointEntry.ticket_id == ticket.id, PointEntry.reason == reason
        )
    )
    if exists is not None or amount == 0:
        return False
    ctx.session.add(PointEntry(person_id=person_id, ticket_id=ticket.id, reason=reason, points=amount, at=at))
    await ctx.session.flush()
    return True


async def award_accept(ctx: Context, ticket: Ticket, leader: Person) -> None:
    assert ticket.accepted_at is not None
    minutes = (ticket.accepted_at - ticket.opened_at).total_seconds() / 60
    if minutes <= ctx.settings.points.accept_within_minutes:
        await award(ctx, leader.id, ticket, "accept_on_time", ctx.settings.points.accept_on_time, ticket.accepted_at)


async def totals(ctx: Context, community_id: str) -> Sequence[tuple[str, int]]:
    rows = await ctx.session.execute(
        select(Person.name, func.sum(PointEntry.points).label("total"))
        .join(Person, Person.id == PointEntry.person_id)
        .join(Unit, Unit.id == Person.unit_id)
        .where(Unit.community_id == community_id, Person.active.is_(True))
        .group_by(Person.id, Person.name)
        .order_by(func.sum(PointEntry.points).desc(), Person.name)
    )
    return [(name, int(total or 0)) for name, total in rows.all()]


def is_points_command(msg: IncomingMessage, ctx: Context) -> bool:
    return ctx.command is not None and ctx.command.verb in (Verb.POINTS, Verb.RANKING)


@router.message(is_points_command)
async def handle_points(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    unit_id = ctx.sender.unit_id if ctx.sender else ctx.unit_id
    unit = await ctx.org.unit(unit_id) if unit_id else None
    if unit is None:
        return [answer(msg, texts.ranking([]))]
    board = await totals(ctx, unit.community_id)
    if ctx.command.verb is Verb.POINTS and ctx.sender is not None:
        own = next((total for name, total in board if name == ctx.sender.name), 0)
        return [answer(msg, texts.points_of(ctx.sender.name, own))]
    lines = [f"{rank}. {name} {total} 分" for rank, (name, total) in enumerate(board[:10], 1)]
    return [answer(msg, texts.ranking(lines))]
