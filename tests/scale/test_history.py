"""The cost of a message does not grow with history: a report, 我的任务 and 待办 read what they need only.

Each test puts a backlog in the database that the old code read in full for every message, and counts
the tickets the ORM loads while one message is handled.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.message import DirectMessage, Say
from storage.models import Ticket
from tests.conftest import T0, Chat

Sim = tuple[Service, SimulatedAdapter]


def old_tickets(
    count: int, *, unit: str, chat: str, state: str, assignee: str | None, age: timedelta
) -> list[dict[str, Any]]:
    opened = T0 - age
    return [
        {
            "community_id": "beijiang",
            "unit_id": unit,
            "platform": "sim",
            "chat_id": chat,
            "kind": "trivial",
            "urgent": False,
            "domain": "日常生活",
            "state": state,
            "summary": f"{9000 + n}室楼道灯不亮",
            "assignee_id": assignee,
            "opened_at": opened,
            "escalation_level": 0,
            "decision": {},
        }
        for n in range(count)
    ]


async def put(service: Service, rows: list[dict[str, Any]]) -> None:
    async with service.store.sessions.begin() as session:
        await session.execute(insert(Ticket), rows)


@contextmanager
def loaded_tickets() -> Iterator[list[int]]:
    """The ids of every ticket the ORM builds from a row while the block runs."""
    seen: list[int] = []

    def count(target: Ticket, _: Any) -> None:
        seen.append(target.id)

    event.listen(Ticket, "load", count)
    try:
        yield seen
    finally:
        event.remove(Ticket, "load", count)


async def answer(service: Service, adapter: SimulatedAdapter, msg: Any) -> str:
    before = len(adapter.sent)
    await service.receive(msg)
    await service.outbox.drain()
    return "\n".join(m.text for m in adapter.sent[before:] if isinstance(m, Say | DirectMessage))


async def test_a_report_reads_only_recent_tickets_of_its_building_and_area(sim: Sim) -> None:
    service, adapter = sim
    # 400 unfinished tickets of the same building and area, opened long before the merge window.
    await put(
        service,
        old_tickets(400, unit="sdc-3", chat="sim-sdc-3", state="assigned", assignee="p-li", age=timedelta(days=30)),
    )
    with loaded_tickets() as loaded:
        reply = await answer(service, adapter, Chat("sim-sdc-3").msg("r-1", "6楼走廊灯坏了"))
    assert "已记录 #401" in reply
    assert loaded == []  # candidates are read as (id, summary) only, and none was near enough in time


async def test_a_repeated_report_loads_just_the_ticket_it_joins(sim: Sim) -> None:
    service, adapter = sim
    await put(
        service,
        old_tickets(300, unit="sdc-3", chat="sim-sdc-3", state="assigned", assignee="p-li", age=timedelta(days=30)),
    )
    chat = Chat("sim-sdc-3")
    await answer(service, adapter, chat.msg("r-1", "6楼走廊灯坏了"))
    with loaded_tickets() as loaded:
        reply = await answer(service, adapter, chat.msg("r-2", "6楼走廊灯坏了，好黑"))
    assert "#301" in reply
    assert loaded == [301]


async def test_my_tasks_lists_twenty_and_counts_the_rest(sim: Sim) -> None:
    service, adapter = sim
    await put(
        service,
        old_tickets(25, unit="sdc-3", chat="sim-sdc-3", state="assigned", assignee="p-li", age=timedelta(days=3)),
    )
    await put(
        service,
        old_tickets(200, unit="sdc-3", chat="sim-sdc-3", state="closed", assignee="p-li", age=timedelta(days=60)),
    )
    with loaded_tickets() as loaded:
        reply = await answer(service, adapter, Chat("dm").msg("lixingshan", "我的任务"))
    assert reply.count("「") == 20
    assert "另有 5 件未列出" in reply
    assert len(loaded) == 20


async def test_todo_reads_the_escalated_tickets_below_the_leader_only(sim: Sim) -> None:
    service, adapter = sim
    # 老西街 (lxc) has 30 escalated tickets in its building; 时代城 (sdc) has 300 that are not 卢桂芳's.
    await put(
        service,
        old_tickets(30, unit="lxc-5", chat="sim-lxc-5", state="escalated", assignee="p-feng", age=timedelta(days=2)),
    )
    await put(
        service,
        old_tickets(300, unit="sdc-3", chat="sim-sdc-3", state="escalated", assignee="p-li", age=timedelta(days=2)),
    )
    with loaded_tickets() as loaded:
        reply = await answer(service, adapter, Chat("dm").msg("lu", "待办"))
    assert reply.count("「") == 20
    assert "另有 10 件未列出" in reply
    assert all(ticket_id <= 30 for ticket_id in loaded)
    assert len(loaded) == 20
