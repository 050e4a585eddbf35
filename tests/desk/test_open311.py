"""Open311 GeoReport v2: read by an independent client (georeport), field names as the spec's examples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from georeport import GeoReport
from sqlalchemy import func, select

from bot.adapters.open311 import Open311Adapter
from bot.app import default_adapters
from bot.message import Say
from bot.texts import chat
from config.settings import Open311Settings, Settings
from storage.models import OutboxItem, Ticket
from tests.conftest import T0, Chat
from tests.desk.conftest import World
from tests.desk.live import LiveServer

Client = TestClient[Any, Any]

# The keys of the spec's example responses (GeoReport v2: GET services, GET requests).
SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_KEYS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("open311")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'linli.db'}", open311=Open311Settings(public_reads=True)
    )
    server = LiveServer(settings, tmp).start()
    yield server
    server.stop()


def test_an_independent_open311_client_reads_services_and_requests(public_server: LiveServer) -> None:
    client = GeoReport(f"{public_server.url}/open311/v2")
    services = client.get_service_list()
    assert len(services) == 8
    assert all(set(s) == SERVICE_KEYS for s in services)
    assert {s["service_name"] for s in services} >= {"安全管理", "日常生活", "纠纷化解"}
    requests = client.get_service_requests(start_date="2026-11-01T00:00:00+08:00", end_date="2026-11-30T00:00:00+08:00")
    assert len(requests) == 6  # public reads: every community
    assert all(set(r) == REQUEST_KEYS for r in requests)
    assert {r["status"] for r in requests} == {"open"}
    assert all(r["status_notes"].startswith("已派单") for r in requests)
    lamp_id = str(public_server.world.tickets["lamp"])
    one = client.get_service_request(lamp_id)
    assert one["service_request_id"] == lamp_id
    assert one["service_code"] == "daily_life"
    assert one["address"] == "时代城3栋"
    safety = client.get_service_requests(
        service_code="safety", start_date="2026-11-01T00:00:00+08:00", end_date="2026-11-30T00:00:00+08:00"
    )
    assert [r["service_request_id"] for r in safety] == [str(public_server.world.tickets["lift"])]
    assert client.get_service_requests(status="closed", start_date="2026-11-01T00:00:00Z") == []


async def test_without_public_reads_every_request_call_needs_a_key(client: Client, world: World) -> None:
    assert (await client.get("/open311/v2/services.json")).status == 200
    for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{world.tickets['lamp']}.json"):
        response = await client.get(path)
        assert response.status == 403
        assert (await response.json())[0]["code"] == 403
        bad = await client.get(path, params={"api_key": "lnl_wrong"})
        assert bad.status == 403


async def test_the_api_key_limits_requests_to_its_owners_grid(client: Client, world: World) -> None:
    key = {"api_key": world.tokens["li"], "start_date": "2026-11-01T00:00:00+08:00"}
    listed = await (await client.get("/open311/v2/requests.json", params=key)).json()
    assert {int(r["service_request_id"]) for r in listed} == {world.tickets["lamp"], world.tickets["water"]}
    for other in ("rubbish", "nanhu"):
        response = await client.get(f"/open311/v2/requests/{world.tickets[other]}.json", params=key)
        assert response.status == 404
        assert (await response.json()) == [{"code": 404, "description": f"没有服务请求 {world.tickets[other]}。"}]
    by_id = await client.get(
        "/open311/v2/requests.json",
        params=key | {"service_request_id": f"{world.tickets['lamp']},{world.tickets['nanhu']}"},
    )
    assert [int(r["service_request_id"]) for r in await by_id.json()] == [world.tickets["lamp"]]
    bad = await client.get("/open311/v2/requests.json", params=key | {"status": "pending"})
    assert bad.status == 400


# --- POST requests.json: a report from outside opens a ticket routed like a chat report -----------------


def report(world: World, **extra: str) -> dict[str, str]:
    """A submission with every field of the spec's POST example, in our community's terms."""
    return {
        "api_key": world.tokens["chen"],
        "jurisdiction_id": "beijiang",
        "service_code": "sanitation",
        "lat": "23.1612",
        "long": "112.8951",
        "address_string": "时代城1栋 5楼楼道",
        "email": "zhang.san@example.org",
        "device_id": "12345-hotline-7",
        "account_id": "A-20261117-0003",
        "first_name": "三",
        "last_name": "张",
        "phone": "13912345678",
        "description": "12345 热线转来：楼道里堆满杂物和垃圾，好几天没人清理，有异味。",
        "media_url": "",
    } | extra


async def test_a_submitted_report_opens_a_ticket_routed_like_a_chat_report(client: Client, world: World) -> None:
    response = await client.post("/open311/v2/requests.json", data=report(world))
    assert response.status == 200, await response.text()
    body = await response.json()
    assert [set(item) for item in body] == [{"service_request_id", "service_notice", "account_id"}]
    (item,) = body
    assert item["account_id"] == "A-20261117-0003"
    ticket_id = int(item["service_request_id"])
    assert item["service_notice"].startswith(f"已记录 #{ticket_id}")
    assert "梁伟明" in item["service_notice"]  # the building's leader was told, as for a chat report
    async with world.store.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        (reporter,) = ticket.reporters
        said = (await session.scalars(select(OutboxItem).where(OutboxItem.ticket_id == ticket_id))).all()
    assert (ticket.unit_id, ticket.platform, ticket.domain, ticket.assignee_id) == (
        "sdc-1",
        "open311",
        "环境卫生",
        "p-liang",
    )
    assert (reporter.sender_name, reporter.sender_id) == ("张三", "chen:A-20261117-0003")
    dm = next(s for s in said if s.kind == "dm")
    assert (dm.platform, dm.recipient) == ("wechaty", "wxid_liang22")  # the leader on their own platform
    assert dm.text.startswith(
        chat.new_task(ticket_id, ticket.kind, ticket.urgent, "时代城1栋（Open311 来件）", "张三", ticket.summary)[:30]
    )
    read = await client.get(f"/open311/v2/requests/{ticket_id}.json", params={"api_key": world.tokens["chen"]})
    (shown,) = await read.json()
    assert (shown["status"], shown["service_code"], shown["address_id"]) == ("open", "sanitation", "sdc-1")


async def test_the_same_problem_told_in_the_group_joins_the_submitted_ticket(client: Client, world: World) -> None:
    body = await (await client.post("/open311/v2/requests.json", data=report(world))).json()
    ticket_id = int(body[0]["service_request_id"])
    chat_report = Chat("sim-sdc-1", start=T0 + timedelta(hours=2)).msg(
        "r-li4", "楼道堆满杂物垃圾，好几天没人清理了，有异味"
    )
    result = await world.service.receive(chat_report)
    assert result.ticket_ids == (ticket_id,)


async def test_submissions_that_cannot_be_filed_are_refused_with_reasons(client: Client, world: World) -> None:
    cases = [
        ({"api_key": ""}, 403, "需要 api_key"),
        ({"api_key": "lnl_forged"}, 403, "无效"),
        ({"service_code": "graffiti"}, 400, "service_code"),
        ({"jurisdiction_id": "nanhu"}, 400, "jurisdiction_id"),
        ({"address_string": ""}, 400, "address_id"),
        ({"address_string": "南湖新村1栋"}, 400, "找不到"),  # another community's building
        ({"api_key": world.tokens["li"]}, 400, "找不到"),  # 时代城1栋 is outside 李杏珊's building
        ({"description": "谢谢大家，辛苦了[强]"}, 400, "没能从描述中看出"),
    ]
    async with world.store.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(Ticket))
    for change, status, words in cases:
        response = await client.post("/open311/v2/requests.json", data=report(world, **change))
        assert response.status == status, change
        (problem,) = await response.json()
        assert problem["code"] == status
        assert words in problem["description"], change
    async with world.store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == before


async def test_what_linli_says_to_a_submission_is_delivered_by_being_recorded() -> None:
    adapter = Open311Adapter()
    await adapter.send(Say(platform="open311", chat_id="unit:sdc-1", text="已记录 #1"))
    assert adapter.health() == {"connected": True, "delivered": 1}


def test_linli_run_serves_open311_submissions_only_when_enabled() -> None:
    assert [a.platform for a in default_adapters(Settings())] == ["sim", "open311"]
    off = Settings(open311=Open311Settings(enabled=False))
    assert [a.platform for a in default_adapters(off)] == ["sim"]
