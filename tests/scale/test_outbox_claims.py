"""Several senders on one outbox: each item sent once, by the account that may send it; crashes settle only
what the crashed process was sending. On SQLite and on PostgreSQL (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Store, open_store
from bot.delivery import OutboxDispatcher
from bot.message import DirectMessage, OutgoingMessage, Say
from bot.outbox import Outbox
from config.settings import Settings
from storage.models import ChatGroup, OutboxItem, OutboxStatus

NOW = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


class SlowAdapter(SimulatedAdapter):
    """Yields to the event loop on every send, so that two workers really interleave."""

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(0)
        await super().send(message)


async def enqueue(store: Store, messages: list[OutgoingMessage], instance: str = "") -> list[int]:
    settings = Settings(instance=instance)
    async with store.sessions.begin() as session:
        return await Outbox.of(settings).emit(session, messages, now=NOW)


async def statuses(store: Store) -> Counter[str]:
    async with store.sessions() as session:
        return Counter((await session.scalars(select(OutboxItem.status))).all())


async def test_two_workers_on_one_outbox_send_each_item_once(store: Store, settings: Settings) -> None:
    await enqueue(store, [Say("sim", "sim-sdc-3", f"第{n}条") for n in range(120)])
    # Two processes: separate engines and connection pools on the same database.
    async with open_store(settings) as other:
        first, second = SlowAdapter(), SlowAdapter()
        a = OutboxDispatcher(store.sessions, {"sim": first}, instance="a")
        b = OutboxDispatcher(other.sessions, {"sim": second}, instance="b")
        sent = await asyncio.gather(a.drain(NOW, claim=5), b.drain(NOW, claim=5))
    texts = [m.text for m in first.sent + second.sent]  # type: ignore[union-attr]
    assert sum(sent) == 120
    assert sorted(texts) == sorted(f"第{n}条" for n in range(120))
    assert await statuses(store) == {OutboxStatus.SENT: 120}


async def test_what_is_said_in_a_group_goes_through_the_account_that_hears_it(store: Store) -> None:
    async with store.sessions.begin() as session:
        await session.execute(update(ChatGroup).where(ChatGroup.chat_id == "sim-sdc-3").values(account="acct-a"))
    await enqueue(
        store,
        [
            Say("sim", "sim-sdc-3", "在3栋群里说"),
            Say("sim", "sim-lxc-5", "在5号楼群里说"),
            DirectMessage("sim", "feng", "私信"),
        ],
        instance="acct-b",
    )
    mine, theirs = SimulatedAdapter(), SimulatedAdapter()
    await OutboxDispatcher(store.sessions, {"sim": theirs}, instance="acct-b").drain(NOW, claim=10)
    await OutboxDispatcher(store.sessions, {"sim": mine}, instance="acct-a").drain(NOW, claim=10)
    assert [m.text for m in mine.sent] == ["在3栋群里说"]  # type: ignore[union-attr]
    assert sorted(m.text for m in theirs.sent) == ["在5号楼群里说", "私信"]  # type: ignore[union-attr]


async def test_a_restarted_process_settles_its_own_sends_not_the_others(store: Store) -> None:
    ids = await enqueue(store, [Say("sim", "sim-sdc-3", f"第{n}条") for n in range(3)])
    now = datetime.now(UTC)  # claims are stamped with the real clock
    claimed = {ids[0]: ("a", now), ids[1]: ("b", now), ids[2]: ("b", now - timedelta(hours=1))}
    async with store.sessions.begin() as session:
        for item_id, (holder, at) in claimed.items():
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id)
                .values(status=OutboxStatus.SENDING, claimed_by=holder, claimed_at=at)
            )
    await OutboxDispatcher(store.sessions, {"sim": SimulatedAdapter()}, instance="a").recover()
    async with store.sessions() as session:
        rows = dict((await session.execute(select(OutboxItem.id, OutboxItem.status))).all())
    # a's own send and b's send abandoned an hour ago are unknown; b's send in progress is left alone.
    assert rows == {ids[0]: OutboxStatus.UNKNOWN, ids[1]: OutboxStatus.SENDING, ids[2]: OutboxStatus.UNKNOWN}
