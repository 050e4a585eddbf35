"""楼长积分: points by configurable rules, and the 积分 / 排行 commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from bot.context import Context, Scope
from bot.message import IncomingMessage
from bot.router import Reply, Router
from bot.texts import chat as texts
from handlers.common import answer
from nlp.command import Verb
from storage.models import Person, PointEntry, Ticket, Unit

router = Router("points")


async def award(scope: Scope, person_id: str, ticket: Ticket, reason: str, amount: int, at: datetime) -> bool:
    """Record points once per person, ticket and reason; False if already recorded."""
    exists = await scope.session.scalar(
        select(PointEntry.id).where(
            PointEntry.person_id == person_id, PointEntry.ticket_id == ticket.id, PointEntry.reason == reason
        )
    )
    if exists is not None or amount == 0:
        return False
    scope.session.add(PointEntry(person_id=person_id, ticket_id=ticket.id, reason=reason, points=amount, at=at))
    return True


async def award_accept(scope: Scope, ticket: Ticket, leader: Person) -> None:
    assert ticket.accepted_at is not None
    rules = scope.settings.points
    minutes = (ticket.accepted_at - ticket.opened_at).total_seconds() / 60
    if minutes <= rules.accept_within_minutes:
        await award(scope, leader.id, ticket, "accept_on_time", rules.accept_on_time, ticket.accepted_at)


async def totals(scope: Scope, community_id: str) -> Sequence[tuple[str, int]]:
    rows = await scope.session.execute(
        select(Person.name, func.sum(PointEntry.points).label("total"))
        .join(Person, Person.id == PointEntry.person_id)
        .join(Unit, Unit.id == Person.unit_id)
        .where(Unit.community_id == community_id, Person.active.is_(True))
        .group_by(Person.id, Person.name)
        .order_by(func.sum(PointEntry.points).desc(), Person.name)
    )
    return [(name, int(total or 0)) for name, total in rows.all()]


async def _board(ctx: Context) -> Sequence[tuple[str, int]] | None:
    """The points table of the sender's community (their own, or their group's), None if neither is known."""
    unit_id = ctx.sender.unit_id if ctx.sender else ctx.unit_id
    unit = await ctx.org.unit(unit_id) if unit_id else None
    return await totals(ctx, unit.community_id) if unit is not None else None


@router.command(Verb.POINTS)
async def handle_points(msg: IncomingMessage, ctx: Context) -> Reply:
    board = await _board(ctx)
    if board is not None and ctx.sender is not None:
        own = next((total for name, total in board if name == ctx.sender.name), 0)
        return [answer(msg, texts.points_of(ctx.sender.name, own))]
    return await handle_ranking(msg, ctx)


@router.command(Verb.RANKING)
async def handle_ranking(msg: IncomingMessage, ctx: Context) -> Reply:
    board = await _board(ctx) or []
    lines = [f"{rank}. {name} {total} 分" for rank, (name, total) in enumerate(board[:10], 1)]
    return [answer(msg, texts.ranking(lines))]
