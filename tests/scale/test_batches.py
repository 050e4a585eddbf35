"""Messages that wait together share a transaction; nothing is lost or doubled, each answered after its commit.

And ``linli replay`` does clock work only when the recorded clock reaches a job's time, and writes the same
actions whether it feeds its messages one at a time or in batches.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bench.workload import District, generate
from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, import_org, open_store
from bot.cli.replay import replay
from bot.recording import action_record, parse_record
from bot.scheduler import JobScheduler
from config.settings import Settings
from storage.models import Message, OutboxItem, Ticket
from tests.conftest import Chat

Sim = tuple[Service, SimulatedAdapter]


async def count(service: Service, model: type) -> int:
    async with service.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_waiting_messages_share_one_transaction_and_each_gets_its_own_answer(sim: Sim) -> None:
    service, adapter = sim
    chat = Chat("sim-sdc-3")
    messages = [chat.msg("r-1", "6楼走廊灯坏了"), chat.msg("r-2", "谢谢楼长"), chat.msg("r-3", "门口垃圾没人收")]
    commits: list[int] = []
    event.listen(service.store.engine.sync_engine, "commit", lambda conn: commits.append(1))
    results = await service.pipeline.feed_many([(m, m.time) for m in messages])
    assert len(commits) == 1
    assert [r.stored for r in results] == [True, True, True]
    assert [len(r.ticket_ids) for r in results] == [1, 0, 1]
    assert results[1].outbox_ids == ()
    await service.outbox.drain()
    acks = [m.text for m in adapter.sent if m.platform == "sim" and getattr(m, "chat_id", None) == "sim-sdc-3"]
    assert [a.split(" ", 1)[0] for a in acks] == ["@r-1", "@r-3"]
    assert "已记录 #1" in acks[0]
    assert "已记录 #2" in acks[1]


async def test_a_batch_with_a_duplicate_and_a_broken_handler_loses_and_doubles_nothing(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, adapter = sim
    chat = Chat("sim-sdc-3")
    stored_before = chat.msg("r-0", "6楼走廊灯坏了")
    await service.receive(stored_before)
    from handlers import reports

    real = reports.co_unit_hint

    async def broken(ctx: Any, ticket: Any, text: str) -> str:
        if "水管" in text:
            raise RuntimeError("a handler bug")
        return await real(ctx, ticket, text)

    monkeypatch.setattr(reports, "co_unit_hint", broken)
    ok = chat.msg("r-1", "门口垃圾没人收")
    bad = chat.msg("r-2", "3楼水管爆了漏水")
    later = chat.msg("r-3", "门禁刷不开")
    results = await service.pipeline.feed_many([(m, m.time) for m in (ok, stored_before, bad, ok, later)])
    assert [(r.stored, r.duplicate) for r in results] == [
        (True, False),
        (False, True),
        (True, False),  # stored alone, without replies
        (False, True),  # the same message twice in one batch
        (True, False),
    ]
    assert results[2].outbox_ids == ()
    assert results[0].ticket_ids
    assert results[4].ticket_ids
    assert await count(service, Message) == 4
    assert await count(service, Ticket) == 3
    await service.outbox.drain()
    texts = Counter(m.text for m in adapter.sent)
    assert max(texts.values()) == 1


async def test_the_flood_guard_counts_a_batch_taken_again_once(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    service, _ = sim
    screened: list[str] = []
    real_screen = service.pipeline.guard.screen

    def spy(msg: Any, *args: Any) -> Any:
        screened.append(msg.message_id)
        return real_screen(msg, *args)

    monkeypatch.setattr(service.pipeline.guard, "screen", spy)
    from storage.message_repo import MessageRepo

    real_insert = MessageRepo.insert

    async def fails_for_a_batch(self: MessageRepo, rows: Any) -> None:
        if len(rows) > 1:
            raise RuntimeError("the batch fails after its messages were handled")
        await real_insert(self, rows)

    monkeypatch.setattr(MessageRepo, "insert", fails_for_a_batch)
    chat = Chat("sim-sdc-3")
    first, second = chat.msg("r-1", "帮助"), chat.msg("r-2", "帮助")
    results = await service.pipeline.feed_many([(first, first.time), (second, second.time)])
    assert [r.stored for r in results] == [True, True]
    assert all(r.outbox_ids for r in results)
    assert screened == [first.message_id, second.message_id]  # not twice each


async def test_replay_runs_the_sweeps_when_the_clock_passes_their_time_not_before_every_message(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []
    real = JobScheduler.run

    async def counted(self: JobScheduler, job_id: str, now: Any = None) -> list[Any]:
        runs.append(job_id)
        return await real(self, job_id, now)

    monkeypatch.setattr(JobScheduler, "run", counted)
    chat = Chat("sim-sdc-3")
    records = []
    for k in range(90):
        records.append(chat.msg(f"r-{k}", "谢谢楼长"))
        chat.clock -= timedelta(seconds=59)  # one second apart: 90 messages over 90 seconds
    async with open_store(settings) as store:
        from tests.harness import EXAMPLE_ORG

        await import_org(store, EXAMPLE_ORG)
        await replay(settings, store, iter(records), lambda item: None)
    # The sweeps run at the first message and once more each time their interval passes, not 90 times:
    # every minute for deadlines, auto-closing and votes, every 30 seconds for unanswered checks.
    assert Counter(runs) == {
        "sweep_deadlines": 2,
        "close_resolved_tickets": 2,
        "close_due_votes": 2,
        "escalate_unanswered_checks": 3,
    }


async def test_replay_writes_the_same_actions_in_batches_as_one_at_a_time(tmp_path: Path) -> None:
    district = District.with_groups(20)
    org = district.write_org(tmp_path / "org.yaml")
    workload = generate(district, 400, spacing=timedelta(seconds=20))

    async def actions(batch_max: int) -> list[dict[str, Any]]:
        url = f"sqlite+aiosqlite:///{tmp_path / f'b{batch_max}.db'}"
        settings = Settings(database_url=url, pipeline={"batch_max": batch_max})  # type: ignore[arg-type]
        out: list[dict[str, Any]] = []
        async with open_store(settings) as store:
            await import_org(store, org)
            records = (parse_record(json.dumps(r, ensure_ascii=False)) for r in workload.records)
            await replay(settings, store, records, lambda item: out.append(action_record(item)))
            async with store.sessions() as session:
                assert await session.scalar(select(func.count()).select_from(Ticket)) == workload.tickets
                assert await session.scalar(select(func.count()).select_from(OutboxItem)) == len(out)
        return out

    one_by_one = await actions(1)
    assert len(one_by_one) > 200
    assert await actions(50) == one_by_one
