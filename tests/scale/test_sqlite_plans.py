"""On SQLite too, the duplicate check of a batch walks the unique index instead of scanning every message.

tests/scale/test_explain.py reads PostgreSQL's plans; SQLite plans some statements differently (a row-value
``IN (VALUES ...)`` is a full scan there), and the embedded default keeps months of messages as well.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from tests.conftest import Chat

Sim = tuple[Service, SimulatedAdapter]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL's plans: test_explain.py
async def test_the_duplicate_check_of_a_batch_uses_the_unique_index(sim: Sim) -> None:
    service, _ = sim
    chat = Chat("sim-sdc-3")
    messages = [chat.msg(f"r-{k}", "收到", message_id=f"dup-{k}") for k in range(4)]
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "FROM messages" in statement and statement.lstrip().startswith("SELECT messages.platform"):
            seen.append((statement, parameters))

    engine = service.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        await service.pipeline.feed_many([(m, m.time) for m in messages])
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) == 1
    statement, parameters = seen[0]
    async with service.store.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        plan = await raw.driver_connection.execute_fetchall(f"EXPLAIN QUERY PLAN {statement}", parameters)
    details = [str(row[-1]) for row in plan]
    assert any("USING COVERING INDEX" in d or "USING INDEX" in d for d in details), details
    assert not any(d.startswith("SCAN messages") for d in details), details
