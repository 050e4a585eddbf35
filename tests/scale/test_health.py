"""A process that loses its database for longer than it waits says so and stops taking work, then resumes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from bot.adapters.simulated import INGEST_PATH, SimulatedAdapter
from config.settings import Settings, SimSettings
from tests.harness import running
from tests.postgres import PostgresServer

TOKEN = "intake-token"


def record(n: int) -> str:
    return json.dumps(
        {
            "platform": "sim",
            "chat_id": "sim-sdc-3",
            "sender_id": f"r-{n}",
            "text": "6楼走廊灯坏了" if n == 1 else "谢谢楼长",
            "message_id": f"m-{n}",
            "time": "2026-11-16T09:00:00+08:00",
        },
        ensure_ascii=False,
    )


async def post(http: aiohttp.ClientSession, base: str, n: int) -> tuple[int, dict[str, Any]]:
    async with http.post(base + INGEST_PATH, data=record(n), headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        return r.status, await r.json()


async def health(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url + "/healthz") as response:
        return response.status, await response.json()


async def test_a_process_without_its_database_says_so_takes_no_work_and_comes_back(
    own_postgres: PostgresServer,
) -> None:
    settings = Settings(
        database_url=own_postgres.fresh_database_url(),
        database_retry_seconds=1,
        http={"port": 0},  # type: ignore[arg-type]
        admin={"port": 0},  # type: ignore[arg-type]
    )
    adapter = SimulatedAdapter(settings=SimSettings(ingest_token=TOKEN))  # type: ignore[arg-type]
    async with running(settings, [adapter], http=True) as it, aiohttp.ClientSession() as http:
        assert await post(http, it.base, 1) == (
            200,
            {"stored": True, "duplicate": False, "outbox_ids": [1, 2], "ticket_ids": [1]},
        )

        await asyncio.to_thread(own_postgres.pause)
        status, body = await post(http, it.base, 2)  # waits database_retry_seconds, then says it is not stored
        assert status == 503
        assert "not stored" in body["error"]
        assert (await health(http, it.base)) == (503, {"ok": False})
        status, details = await health(http, it.admin)
        assert status == 503
        assert details["database"]["ok"] is False
        assert details["database"]["down_since"]
        assert (await post(http, it.base, 3))[0] == 503  # one attempt only, while the database is known gone

        await asyncio.to_thread(own_postgres.resume)
        assert await it.service.check_database()  # what the probe does every PROBE_SECONDS
        assert (await health(http, it.base)) == (200, {"ok": True})
        for n in (2, 3):  # the platform offers them again: stored once each
            status, body = await post(http, it.base, n)
            assert (status, body["stored"]) == (200, True)
        assert (await post(http, it.base, 2))[1]["duplicate"] is True
