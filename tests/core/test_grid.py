"""The grid's depth and its communities come from data: routing, escalation and permissions follow it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.message import DirectMessage
from config.settings import Settings
from storage.models import Ticket
from tests.conftest import Chat
from tests.harness import running

TWO_COMMUNITIES_FIVE_LEVELS = """\
communities:
  - id: street
    kind: street
    name: 西南街道
    units:
      - id: bj
        kind: community
        name: 北江社区
        units:
          - id: grid1
            kind: grid
            name: 第一网格
            units:
              - {id: b1, kind: building, name: 1栋}
  - id: other
    name: 别的社区
    units:
      - {id: ob, kind: building, name: 外栋}
people:
  - {id: p-grid, name: 网格长, role: branch_secretary, unit: grid1, platform_ids: {sim: grid}}
  - {id: p-bj, name: 社区书记, role: committee, unit: bj, platform_ids: {sim: bj}}
  - {id: p-street, name: 街道书记, role: committee, unit: street, platform_ids: {sim: street}}
  - {id: p-other, name: 外社区楼长, role: building_leader, unit: ob, platform_ids: {sim: outsider}}
groups:
  - {platform: sim, chat_id: g-b1, name: 1栋群, unit: b1}
  - {platform: sim, chat_id: g-ob, name: 外栋群, unit: ob}
"""


@pytest.fixture
async def deep(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Service, SimulatedAdapter]]:
    org = tmp_path / "deep.yaml"
    org.write_text(TWO_COMMUNITIES_FIVE_LEVELS, encoding="utf-8")
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], org=org, start=False) as it:
        yield it.service, adapter


async def test_a_building_without_leader_goes_to_the_nearest_level_and_escalates_to_the_top(
    deep: tuple[Service, SimulatedAdapter],
) -> None:
    service, adapter = deep
    chat = Chat("g-b1")
    await service.receive(chat.msg("r-1", "1楼走廊灯坏了"))
    for _ in range(3):
        await service.receive(chat.msg("grid", "升级 #1"))
    await service.outbox.drain()
    async with service.store.sessions() as session:
        ticket = await session.get(Ticket, 1)
        assert ticket is not None
    assert (ticket.assignee_id, ticket.state, ticket.escalation_level) == ("p-grid", "escalated", 2)
    told = [m.to for m in adapter.sent if isinstance(m, DirectMessage)]
    assert told == ["grid", "bj", "street"]
    assert "最高一级" in adapter.sent[-1].text


async def test_a_leader_of_another_community_cannot_see_the_ticket(deep: tuple[Service, SimulatedAdapter]) -> None:
    service, adapter = deep
    await service.receive(Chat("g-b1").msg("r-1", "1楼走廊灯坏了"))
    await service.receive(Chat("g-ob").msg("outsider", "接单 #1"))
    await service.outbox.drain()
    assert "没有找到 #1" in adapter.sent[-1].text
    async with service.store.sessions() as session:
        ticket = await session.get(Ticket, 1)
        assert ticket is not None
        assert ticket.state == "assigned"
