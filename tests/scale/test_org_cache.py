"""Each process reads the org once and keeps it, until an import anywhere raises the org's revision."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, import_org, open_store
from config.settings import Settings
from storage.models import Ticket
from tests.conftest import Chat
from tests.harness import EXAMPLE_ORG

Sim = tuple[Service, SimulatedAdapter]


async def assignee(service: Service, ticket_id: int) -> str | None:
    async with service.store.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.assignee_id


async def test_an_import_by_another_process_reaches_a_running_one(sim: Sim, settings: Settings, tmp_path: Path) -> None:
    service, _ = sim
    chat = Chat("sim-sdc-3")
    first = await service.receive(chat.msg("r-1", "6楼走廊灯坏了"))
    assert await assignee(service, first.ticket_ids[0]) == "p-li"

    # 李杏珊 leaves; another process (its own engine, its own cache) imports the new org file.
    org = yaml.safe_load(EXAMPLE_ORG.read_text(encoding="utf-8"))
    org["people"] = [p for p in org["people"] if p["id"] != "p-li"]
    for community in org["communities"]:
        for estate in community["units"]:
            for building in estate.get("units", []):
                building["leaders"] = [leader for leader in building.get("leaders", []) if leader != "p-li"]
    changed = tmp_path / "org.yaml"
    changed.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    async with open_store(settings) as elsewhere:
        await import_org(elsewhere, changed)

    second = await service.receive(chat.msg("r-2", "门口垃圾没人收"))
    assert await assignee(service, second.ticket_ids[0]) == "p-tan"  # the estate's secretary, not the cached p-li
