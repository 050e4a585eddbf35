"""Raw messages are not kept forever: the retention job through the job runner; unknown groups' chatter is
not stored in full."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from bot.job_runner import JobRunner
from handlers.jobs import jobs
from handlers.retention import purge_old_messages
from storage.models import AuditEntry, Message, OutboxItem, OutboxStatus
from tests.hardening.conftest import Desk


async def _messages(two: Desk) -> dict[str, tuple[str, int | None]]:
    async with two.service.store.sessions() as session:
        rows = (await session.scalars(select(Message))).all()
        return {m.message_id: (m.text, m.ticket_id) for m in rows}


async def test_old_messages_go_and_those_behind_tickets_keep_only_the_link(two: Desk) -> None:
    await two.say("sim-sdc-3", "r-1", "6楼走廊灯坏了")
    await two.say("sim-sdc-3", "r-2", "今天天气真好")
    await two.say("sim-sdc-3", "r-3", "6楼走廊灯坏了还没修")
    later = two.clock + timedelta(days=181)
    await two.say("sim-sdc-3", "r-4", "大家早晨")  # recent: stays
    two.clock = later
    recent = two.chat("sim-sdc-3").msg("r-5", "新的一天")
    await two.feed(recent)
    await JobRunner(two.service.store.sessions, two.service.settings).run(purge_old_messages, later)
    kept = await _messages(two)
    assert kept["sim-sdc-3-1"] == ("", 1)  # behind ticket #1: the link stays, the text goes
    assert "sim-sdc-3-2" not in kept  # chatter: gone
    assert kept[recent.message_id][0] == "新的一天"
    async with two.service.store.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions == ["retention"]


async def test_old_replies_go_once_sent_and_stay_while_unsent(two: Desk) -> None:
    now = two.clock + timedelta(days=200)
    old, young = now - timedelta(days=181), now - timedelta(days=10)
    rows = [
        ("old sent", old, old, OutboxStatus.SENT),
        ("old failed", old, old, OutboxStatus.FAILED),
        ("old unsent", old, old, OutboxStatus.PENDING),
        ("young sent", young, young, OutboxStatus.SENT),
        ("held past the cutoff", old, young, OutboxStatus.SENT),
    ]
    async with two.service.store.sessions.begin() as session:
        await session.execute(
            insert(OutboxItem),
            [
                {
                    "text": text,
                    "created_at": created,
                    "not_before": due,
                    "platform": "sim",
                    "kind": "say",
                    "chat_id": "sim-sdc-3",
                    "status": status,
                }
                for text, created, due, status in rows
            ],
        )
    await JobRunner(two.service.store.sessions, two.service.settings).run(purge_old_messages, now)
    async with two.service.store.sessions() as session:
        kept = set((await session.scalars(select(OutboxItem.text))).all())
    # what was held until after the cutoff goes on a later day, once it too is older than the cutoff
    assert kept == {"old unsent", "young sent", "held past the cutoff"}


async def test_chatter_from_an_unknown_group_is_not_kept_in_full(two: Desk) -> None:
    await two.say("sim-unknown", "r-1", "我家电话13812345678，有事找我")
    assert (await _messages(two))["sim-unknown-1"][0] == ""


def test_retention_is_a_scheduled_job(two: Desk) -> None:
    assert "purge_old_messages" in [job.id for job in jobs(two.service.settings)]
