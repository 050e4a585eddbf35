"""The outbox: actions written with the change that caused them, sent only after it commits.

Several processes may send from one outbox: a worker claims due items in one statement that skips rows
another process is claiming (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite lets one writer in at a
time), marks them ``sending`` under its instance name, sends, and settles them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.keys import pairs_in
from storage.models import ChatGroup, OutboxItem, OutboxStatus, Ticket

STALE_AFTER = timedelta(minutes=10)
"""An item another process has been sending for this long belongs to a process that died: it is unknown."""


@cache
def _claim(by_priority: bool, after_id: bool) -> Any:
    """The claiming statement in one of its four shapes, built once (a claim follows every batch)."""
    picked = (
        select(OutboxItem.id)
        .where(
            OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.platform.in_(bindparam("platforms", expanding=True)),
            OutboxItem.not_before <= bindparam("now"),
            or_(OutboxItem.account.is_(None), OutboxItem.account == bindparam("holder")),
        )
        .order_by(*((OutboxItem.priority.desc(),) if by_priority else ()), OutboxItem.not_before, OutboxItem.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    if after_id:
        picked = picked.where(OutboxItem.id > bindparam("after_id"))
    return (
        update(OutboxItem)
        .where(OutboxItem.id.in_(picked.scalar_subquery()), OutboxItem.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, claimed_by=bindparam("holder"), claimed_at=bindparam("at"))
        .returning(OutboxItem)
        .execution_options(synchronize_session=False)
    )


_MARK_SENT = (
    update(OutboxItem)
    .where(OutboxItem.id.in_(bindparam("ids", expanding=True)))
    .values(status=OutboxStatus.SENT, sent_at=bindparam("at"), error=None)
    .execution_options(synchronize_session=False)
)


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, item: OutboxItem) -> None:
        self.session.add(item)

    async def accounts(
        self, chats: Collection[tuple[str, str]], tickets: Collection[int]
    ) -> tuple[dict[tuple[str, str], str | None], dict[int, str | None]]:
        """The account (instance) of each group, and of each ticket's group."""
        by_chat: dict[tuple[str, str], str | None] = {}
        by_ticket: dict[int, str | None] = {}
        if chats:
            rows = await self.session.execute(
                select(ChatGroup.platform, ChatGroup.chat_id, ChatGroup.account).where(
                    pairs_in(ChatGroup.platform, ChatGroup.chat_id, chats)
                )
            )
            by_chat = {(platform, chat_id): account for platform, chat_id, account in rows.all()}
        if tickets:
            found = await self.session.execute(
                select(Ticket.id, ChatGroup.account)
                .join(ChatGroup, (ChatGroup.platform == Ticket.platform) & (ChatGroup.chat_id == Ticket.chat_id))
                .where(Ticket.id.in_(sorted(tickets)))
            )
            by_ticket = {int(ticket_id): account for ticket_id, account in found.all()}
        return by_chat, by_ticket

    async def last_id(self) -> int:
        return int(await self.session.scalar(select(func.max(OutboxItem.id))) or 0)

    async def claim_due(
        self,
        now: datetime,
        platforms: Sequence[str],
        *,
        limit: int,
        holder: str,
        at: datetime,
        after_id: int | None = None,
        by_priority: bool = True,
    ) -> list[OutboxItem]:
        """Take up to ``limit`` items due at ``now`` for sending, most urgent first (priority), then oldest:
        they become ``sending``, claimed by ``holder`` at ``at``. Rows a concurrent claim has locked are
        skipped, not waited for; rows another account must send are left to it; with ``after_id``, only rows
        written after it (``linli replay`` sends only what its own messages caused); without ``by_priority``,
        in the order they were due and written (a replay's output follows its input)."""
        params: dict[str, Any] = {"platforms": list(platforms), "now": now, "holder": holder, "limit": limit, "at": at}
        if after_id is not None:
            params["after_id"] = after_id
        result = await self.session.scalars(_claim(by_priority, after_id is not None), params)
        rank = (lambda item: -item.priority) if by_priority else (lambda item: 0)
        return sorted(result.all(), key=lambda item: (rank(item), item.not_before, item.id))

    async def mark_sent(self, item_ids: Sequence[int], at: datetime) -> None:
        if item_ids:
            await self.session.execute(_MARK_SENT, {"ids": list(item_ids), "at": at})

    async def mark_retry(self, item_id: int, *, error: str, not_before: datetime, give_up: bool) -> None:
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(
                status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
                error=error[:2000],
                not_before=not_before,
                attempts=OutboxItem.attempts + 1,
                claimed_by=None,
                claimed_at=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def defer(self, item_id: int, *, not_before: datetime) -> None:
        """Put an item that was never tried back in the queue for later, without counting an attempt."""
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(status=OutboxStatus.PENDING, not_before=not_before, claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )

    async def abandon_in_flight(self, holder: str | None, now: datetime) -> int:
        """After a crash, items caught mid-send are not resent blindly: they are marked unknown. These are
        the items ``holder`` (this instance, starting again) was sending, and any that another process has
        been sending for longer than ``STALE_AFTER``."""
        stale = OutboxItem.claimed_at < now - STALE_AFTER
        mine = or_(OutboxItem.claimed_by == holder, OutboxItem.claimed_by.is_(None)) if holder is not None else None
        result = await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.SENDING, or_(stale, mine) if mine is not None else stale)
            .values(status=OutboxStatus.UNKNOWN)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))
