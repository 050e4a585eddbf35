"""The outbox sends after commit, retries failures with backoff, and never resends after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.adapters.base import SendError
from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, Store
from bot.delivery import OutboxDispatcher
from bot.message import OutgoingMessage, Say
from bot.outbox import Outbox
from config.settings import Settings
from storage.models import OutboxItem, OutboxStatus


class FlakyAdapter(SimulatedAdapter):
    def __init__(self, failures: int) -> None:
        super().__init__("sim")
        self.failures = failures

    async def send(self, message: OutgoingMessage) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise SendError("platform busy")
        await super().send(message)


async def _enqueue(store: Store, text: str, now: datetime) -> int:
    async with store.sessions.begin() as session:
        [item_id] = await Outbox.of(Settings()).emit(
            session, [Say(platform="sim", chat_id="sim-sdc-3", text=text)], now=now, in_reply_to="m1"
        )
        return item_id


async def _status(store: Store, item_id: int) -> OutboxItem:
    async with store.sessions() as session:
        item = await session.get(OutboxItem, item_id)
        assert item is not None
        return item


async def test_failed_send_is_retried_with_backoff(store: Store) -> None:
    now = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    adapter = FlakyAdapter(failures=1)
    dispatcher = OutboxDispatcher(store.sessions, {"sim": adapter})
    item_id = await _enqueue(store, "你好", now)

    assert await dispatcher.drain(now) == 0
    item = await _status(store, item_id)
    assert (item.status, item.attempts) == (OutboxStatus.PENDING, 1)
    assert item.not_before > now
    assert await dispatcher.drain(now + timedelta(seconds=1)) == 0  # not yet due

    assert await dispatcher.drain(item.not_before) == 1
    assert [m.text for m in adapter.sent] == ["你好"]  # type: ignore[union-attr]
    assert (await _status(store, item_id)).status == OutboxStatus.SENT


async def test_a_failing_item_does_not_block_the_next(store: Store) -> None:
    now = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    adapter = FlakyAdapter(failures=1)
    dispatcher = OutboxDispatcher(store.sessions, {"sim": adapter})
    await _enqueue(store, "first", now)
    await _enqueue(store, "second", now)
    assert await dispatcher.drain(now) == 1
    assert [m.text for m in adapter.sent] == ["second"]  # type: ignore[union-attr]


async def test_item_caught_mid_send_by_a_crash_is_not_resent(store: Store) -> None:
    now = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    item_id = await _enqueue(store, "会不会发两次", now)
    async with store.sessions.begin() as session:
        item = await session.get(OutboxItem, item_id)
        assert item is not None
        item.status = OutboxStatus.SENDING  # the process died between claim and confirmation

    adapter = SimulatedAdapter()
    dispatcher = OutboxDispatcher(store.sessions, {"sim": adapter})
    await dispatcher.recover()
    assert await dispatcher.drain(now) == 0
    assert adapter.sent == []
    assert (await _status(store, item_id)).status == OutboxStatus.UNKNOWN


async def test_pending_items_survive_a_restart(store: Store, settings: object) -> None:
    now = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    await _enqueue(store, "重启之后照发", now)
    adapter = SimulatedAdapter()
    service = Service(settings, store, [adapter])  # type: ignore[arg-type]
    await service.outbox.recover()
    await service.outbox.drain(now)
    assert [m.text for m in adapter.sent] == ["重启之后照发"]  # type: ignore[union-attr]
    async with store.sessions() as session:
        statuses = (await session.scalars(select(OutboxItem.status))).all()
    assert statuses == [OutboxStatus.SENT]


class RefusingAdapter(SimulatedAdapter):
    def __init__(self, error: SendError) -> None:
        super().__init__("sim")
        self.error = error

    async def send(self, message: OutgoingMessage) -> None:
        raise self.error


async def test_permanent_failure_gives_up_at_once(store: Store) -> None:
    now = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    item_id = await _enqueue(store, "发给已经退群的人", now)
    dispatcher = OutboxDispatcher(store.sessions, {"sim": RefusingAdapter(SendError("no such user", permanent=True))})
    await dispatcher.drain(now)
    item = await _status(store, item_id)
    assert (item.status, item.attempts) == (OutboxStatus.FAILED, 1)


async def test_retry_after_hint_pushes_the_retry_later(store: Store) -> None:
    now = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    item_id = await _enqueue(store, "限流了", now)
    dispatcher = OutboxDispatcher(store.sessions, {"sim": RefusingAdapter(SendError("busy", retry_after=600))})
    await dispatcher.drain(now)
    item = await _status(store, item_id)
    assert item.status == OutboxStatus.PENDING
    assert item.not_before >= now + timedelta(seconds=600)
