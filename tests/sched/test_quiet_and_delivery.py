"""Quiet hours on the pipeline's notices, and a failing platform that does not block other reminders."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import SendError
from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, Store
from bot.delivery import OutboxDispatcher
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage
from config.settings import Settings
from handlers import digest, digest_files
from handlers.closing import close_resolved_tickets
from storage.models import OutboxStatus
from tests.sched.conftest import Desk, at


def report(text: str, when: datetime, n: int = 1) -> IncomingMessage:
    return IncomingMessage(
        platform="sim",
        chat_id="sim-sdc-3",
        chat_name="时代城3栋业主群",
        sender_id="r-chen301",
        sender_name="陈生",
        text=text,
        message_id=f"m-{n}",
        time=when,
    )


@pytest.fixture
async def service(settings: Settings, store: Store) -> AsyncIterator[Service]:
    service = Service(settings, store, [SimulatedAdapter()])
    yield service
    await service.stop()


async def test_a_new_task_at_night_waits_for_the_morning_but_the_ack_does_not(service: Service, desk: Desk) -> None:
    night = at("2026-11-16 23:10")
    result = await service.receive(report("6楼走廊灯坏了，晚上黑麻麻的，老人家走路怕摔", night), now=night)
    [tid] = result.ticket_ids
    rows = {o.kind: o for o in await desk.outbox(tid)}
    assert rows["say"].not_before == night  # the resident's acknowledgement goes at once
    assert rows["dm"].not_before == at("2026-11-17 08:00")  # the leader's new task waits


async def test_an_urgent_report_reaches_the_leader_at_once(service: Service, desk: Desk) -> None:
    night = at("2026-11-16 23:10")
    result = await service.receive(report("电梯困人了！3号电梯卡在8楼，里面有小朋友", night), now=night)
    [tid] = result.ticket_ids
    assert all(o.not_before == night for o in await desk.outbox(tid))


class FlakyAdapter(SimulatedAdapter):
    """Refuses every message to one recipient until ``heal`` is called."""

    def __init__(self, broken: str) -> None:
        super().__init__("sim")
        self.broken: str | None = broken
        self.attempts: list[str] = []

    async def send(self, message: OutgoingMessage) -> None:
        if isinstance(message, DirectMessage):
            self.attempts.append(message.to)
            if message.to == self.broken:
                raise SendError("recipient temporarily unreachable")
        await super().send(message)


async def test_a_failed_send_is_retried_with_backoff_and_blocks_nobody(desk: Desk) -> None:
    first = await desk.open(at("2026-11-16 09:00"))
    second = await desk.open(at("2026-11-16 09:00"), unit="lxc-5", chat="sim-lxc-5", assignee="p-feng")
    now = at("2026-11-16 11:00")
    await desk.sweep(now)
    adapter = FlakyAdapter(broken="lixingshan")
    outbox = OutboxDispatcher(desk.store.sessions, {"sim": adapter})
    await outbox.drain(now=now)
    sent_to = [m.to for m in adapter.sent if isinstance(m, DirectMessage)]
    assert sent_to == ["feng"]  # the other leader's reminder went out
    [failed] = [o for o in await desk.outbox(first) if o.kind == "dm"]
    assert (failed.status, failed.attempts) == (OutboxStatus.PENDING, 1)
    assert failed.not_before == now + timedelta(seconds=5)
    assert "unreachable" in (failed.error or "")
    assert await outbox.drain(now=now + timedelta(seconds=4)) == 0  # not before the backoff
    await outbox.drain(now=now + timedelta(seconds=5))  # still broken: the wait doubles
    [failed] = [o for o in await desk.outbox(first) if o.kind == "dm"]
    assert (failed.attempts, failed.not_before) == (2, now + timedelta(seconds=15))
    adapter.broken = None
    assert await outbox.drain(now=now + timedelta(seconds=15)) == 1
    assert [o.status for o in await desk.outbox(first) if o.kind == "dm"] == [OutboxStatus.SENT]
    assert [o.status for o in await desk.outbox(second)] == [OutboxStatus.SENT, OutboxStatus.SENT]


class BudgetSpentAdapter(SimulatedAdapter):
    """Declines direct messages untried, as a platform whose daily send budget is spent does."""

    def __init__(self) -> None:
        super().__init__("sim")
        self.spent = True

    async def send(self, message: OutgoingMessage) -> None:
        if isinstance(message, DirectMessage) and self.spent:
            raise SendError("daily budget spent", retry_after=600, deferred=True)
        await super().send(message)


async def test_a_send_deferred_untried_waits_as_asked_and_never_counts_as_an_attempt(desk: Desk) -> None:
    tid = await desk.open(at("2026-11-16 09:00"))
    now = at("2026-11-16 11:00")
    await desk.sweep(now)
    adapter = BudgetSpentAdapter()
    outbox = OutboxDispatcher(desk.store.sessions, {"sim": adapter})
    for minutes in range(0, 90, 10):  # nine deferrals, more than MAX_ATTEMPTS (8): none gives up
        await outbox.drain(now=now + timedelta(minutes=minutes))
    [dm] = [o for o in await desk.outbox(tid) if o.kind == "dm"]
    assert (dm.status, dm.attempts, dm.error) == (OutboxStatus.PENDING, 0, None)
    assert dm.not_before == now + timedelta(minutes=90)
    assert outbox.failed == 0
    adapter.spent = False
    assert await outbox.drain(now=now + timedelta(minutes=90)) == 1
    [dm] = [o for o in await desk.outbox(tid) if o.kind == "dm"]
    assert (dm.status, dm.attempts) == (OutboxStatus.SENT, 0)


async def test_one_quiet_hours_rule_holds_an_auto_close_notice_until_morning(desk: Desk) -> None:
    tid = await desk.open(at("2026-11-16 09:00"))
    await desk.transition(tid, "resolved", at("2026-11-16 23:00"), resolved_at=at("2026-11-16 23:00"))
    await desk.run(close_resolved_tickets, at("2026-11-19 23:30"))  # 72 hours on, at night
    [notice] = [o for o in await desk.outbox(tid) if o.topic == "reply"]
    assert (notice.chat_id, notice.not_before) == ("sim-sdc-3", at("2026-11-20 08:00"))
    assert "已自动关闭" in notice.text


async def test_the_digest_draws_its_charts_off_the_event_loop_after_its_commit(
    desk: Desk, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn_in: list[str] = []
    real = digest_files.write

    def spy(*args: Any, **kwargs: Any) -> Any:
        drawn_in.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(digest_files, "write", spy)
    settings.schedule.digest.committee_chats = ["sim:sim-committee"]
    settings.schedule.digest.chart_processes = 0
    await desk.run(digest.send_weekly_digest, at("2026-11-23 09:00"))
    assert drawn_in
    assert threading.main_thread().name not in drawn_in


async def test_the_charts_are_drawn_in_processes_that_stop_with_the_job(
    desk: Desk, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    in_this_process: list[Any] = []
    monkeypatch.setattr(digest_files, "write", lambda *args: in_this_process.append(args))
    settings.schedule.digest.committee_chats = ["sim:sim-committee"]
    settings.schedule.digest.out_dir = tmp_path
    assert settings.schedule.digest.chart_processes > 0  # the default
    await desk.run(digest.send_weekly_digest, at("2026-11-23 09:00"))
    assert in_this_process == []  # drawn, but not here
    drawn = sorted(path.name for path in await asyncio.to_thread(lambda: list(tmp_path.rglob("*.png"))))
    assert drawn == ["by_domain.png", "daily.png"]
    images = [o for o in await desk.outbox() if o.kind == "image"]
    assert sorted(Path(o.image_path or "").name for o in images) == drawn
    assert {o.chat_id for o in images} == {"sim-committee"}
    assert multiprocessing.active_children() == []
