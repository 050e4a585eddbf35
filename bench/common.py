"""Shared set-up for the benchmarks: a fresh SQLite file with a generated grid of any size."""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.app import Store, open_store
from config.settings import Settings
from storage.models import ChatGroup, Identity, Person, Unit

_POSTGRES: list[Any] = []
"""The throwaway PostgreSQL cluster of this run, if one was started."""


@contextlib.contextmanager
def postgres_server(wanted: bool = True) -> Iterator[None]:
    """A PostgreSQL server for the run: LINLI_BENCH_POSTGRES if set, else a throwaway cluster started from
    the Debian binaries (tests/postgres.py) and removed afterwards."""
    if not wanted or os.environ.get("LINLI_BENCH_POSTGRES"):
        yield
        return
    from tests.postgres import PostgresServer

    server = PostgresServer.start()
    _POSTGRES.append(server)
    try:
        yield
    finally:
        _POSTGRES.remove(server)
        server.stop()


def postgres_settings() -> Settings:
    """A fresh database on the run's PostgreSQL server."""
    url = os.environ.get("LINLI_BENCH_POSTGRES")
    if url:
        return Settings(database_url=url)
    if not _POSTGRES:
        raise RuntimeError("no PostgreSQL server: run inside postgres_server() or set LINLI_BENCH_POSTGRES")
    return Settings(database_url=_POSTGRES[-1].fresh_database_url())


def fresh_settings(name: str) -> Settings:
    folder = Path(os.environ.get("LINLI_BENCH_DIR") or tempfile.mkdtemp(prefix="linli-bench-"))
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Settings(database_url=f"sqlite+aiosqlite:///{path}")


async def build_grid(store: Store, estates: int, buildings_per_estate: int) -> list[str]:
    """One community, ``estates`` estates each with buildings, a leader and a group per building."""
    units: list[dict[str, Any]] = [
        {"id": "c", "kind": "community", "name": "测试社区", "parent_id": None, "community_id": "c", "depth": 0}
    ]
    people: list[dict[str, Any]] = [
        {"id": "p-c", "name": "社区书记", "role": "committee", "unit_id": "c", "phone": None, "active": True}
    ]
    identities = [{"platform": "sim", "user_id": "u-c", "person_id": "p-c"}]
    groups: list[dict[str, Any]] = []
    buildings: list[str] = []
    for e in range(estates):
        estate = f"e{e}"
        units.append(
            {"id": estate, "kind": "estate", "name": f"小区{e}", "parent_id": "c", "community_id": "c", "depth": 1}
        )
        people.append(
            {
                "id": f"p-{estate}",
                "name": f"书记{e}",
                "role": "branch_secretary",
                "unit_id": estate,
                "phone": None,
                "active": True,
            }
        )
        identities.append({"platform": "sim", "user_id": f"u-{estate}", "person_id": f"p-{estate}"})
        for b in range(buildings_per_estate):
            building = f"{estate}-b{b}"
            buildings.append(building)
            units.append(
                {
                    "id": building,
                    "kind": "building",
                    "name": f"小区{e}{b}栋",
                    "parent_id": estate,
                    "community_id": "c",
                    "depth": 2,
                }
            )
            people.append(
                {
                    "id": f"p-{building}",
                    "name": f"楼长{e}-{b}",
                    "role": "building_leader",
                    "unit_id": building,
                    "phone": None,
                    "active": True,
                }
            )
            identities.append({"platform": "sim", "user_id": f"u-{building}", "person_id": f"p-{building}"})
            groups.append(
                {
                    "platform": "sim",
                    "chat_id": f"g-{building}",
                    "name": f"小区{e}{b}栋业主群",
                    "unit_id": building,
                    "bound_by_org": True,
                }
            )
    async with store.sessions.begin() as s:
        await s.execute(insert(Unit), units)
        await s.execute(insert(Person), people)
        await s.execute(insert(Identity), identities)
        await s.execute(insert(ChatGroup), groups)
    return buildings


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


__all__ = ["build_grid", "fresh_settings", "open_store", "peak_rss_mb", "postgres_server", "postgres_settings"]
