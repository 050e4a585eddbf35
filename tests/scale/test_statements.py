"""What a batch of messages costs the database: statements counted at the driver, not time measured.

Chatter (70% of a district's evening) is stored and answered by nobody: its cost must be a few statements
per batch, the same for a batch of 3 or a full one, however many handlers look at it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from storage.models import Ticket, TicketEvent
from tests.conftest import Chat

Sim = tuple[Service, SimulatedAdapter]
CHATTER = ("谢谢楼长", "收到", "大家晚上好", "今天好热", "辛苦了", "周末愉快")


@contextmanager
def statements(service: Service) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:120])

    engine = service.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def batch_of_chatter(service: Service, size: int, start: int) -> list[str]:
    chats = [Chat("sim-sdc-3"), Chat("sim-sdc-1")]
    messages = [
        chats[k % 2].msg(f"r-{start + k}", CHATTER[k % len(CHATTER)], message_id=f"chatter-{start + k}")
        for k in range(size)
    ]
    with statements(service) as seen:
        results = await service.pipeline.feed_many([(m, m.time) for m in messages])
    assert all(r.stored and not r.outbox_ids for r in results)
    return seen


async def test_chatter_costs_the_same_statements_for_a_batch_of_3_or_a_full_one(sim: Sim) -> None:
    service, _ = sim
    await batch_of_chatter(service, 2, 0)  # the org is read into the process once; not counted here
    small = await batch_of_chatter(service, 3, 100)
    large = await batch_of_chatter(service, service.pipeline.batch_max, 200)
    assert len(large) == len(small), "\n".join(large)
    assert len(large) <= 6, "\n".join(large)


async def test_sending_what_a_batch_caused_claims_once_when_the_claim_was_not_full(sim: Sim) -> None:
    service, adapter = sim
    chat = Chat("sim-sdc-3")
    reports = [chat.msg(f"r-{k}", text) for k, text in enumerate(("6楼走廊灯坏了", "门口垃圾没人收", "门禁刷不开"))]
    results = await service.pipeline.feed_many([(m, m.time) for m in reports])
    written = sum(len(r.outbox_ids) for r in results)
    with statements(service) as seen:
        sent = await service.outbox.drain(now=reports[-1].time, claim=500)
    assert sent == written >= 3
    assert len(adapter.sent) == written
    claims = [s for s in seen if s.startswith("UPDATE outbox SET status") and "claimed_by" in s]
    assert len(claims) == 1, "\n".join(seen)


async def test_a_report_writes_its_new_ticket_once_and_its_history_in_one_statement(sim: Sim) -> None:
    service, _ = sim
    await batch_of_chatter(service, 2, 0)
    report = Chat("sim-sdc-3").msg("r-9", "6楼走廊灯坏了", message_id="report-1")
    with statements(service) as seen:
        [result] = await service.pipeline.feed_many([(report, report.time)])
    assert len(result.ticket_ids) == 1
    writes = [s for s in seen if s.startswith(("INSERT INTO tickets", "UPDATE tickets", "INSERT INTO ticket_events"))]
    assert len(writes) == 2, "\n".join(seen)
    async with service.store.sessions() as session:
        ticket = await session.get(Ticket, result.ticket_ids[0])
        assert ticket is not None
        assert ticket.state == "assigned"
        events = (await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))).all()
    assert [(e.action, e.from_state, e.to_state) for e in sorted(events, key=lambda e: e.id)] == [
        ("open", None, "open"),
        ("assign", "open", "assigned"),
    ]


async def test_a_batch_of_reports_asks_once_whether_a_needs_round_is_open(sim: Sim) -> None:
    service, _ = sim
    await batch_of_chatter(service, 2, 0)
    chats = [Chat("sim-sdc-3"), Chat("sim-sdc-1"), Chat("sim-jjhy-a")]
    texts = ("6楼走廊灯坏了", "门口垃圾没人收", "门禁刷不开")
    pairs = enumerate(zip(chats, texts, strict=True))
    reports = [chat.msg(f"r-{k}", text, message_id=f"rep-{k}") for k, (chat, text) in pairs]
    with statements(service) as seen:
        results = await service.pipeline.feed_many([(m, m.time) for m in reports])
    assert all(len(r.ticket_ids) == 1 for r in results)
    assert len([s for s in seen if s.startswith("SELECT needs_rounds.")]) == 1, "\n".join(seen)
