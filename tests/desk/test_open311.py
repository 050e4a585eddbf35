"""Open311 GeoReport v2: read by an independent client (georeport), field names as the spec's examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from georeport import GeoReport

from config.settings import Open311Settings, Settings
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
        assert (await response.json()) == [{"code": 404, "description": f"no service request {world.tickets[other]}"}]
    by_id = await client.get(
        "/open311/v2/requests.json",
        params=key | {"service_request_id": f"{world.tickets['lamp']},{world.tickets['nanhu']}"},
    )
    assert [int(r["service_request_id"]) for r in await by_id.json()] == [world.tickets["lamp"]]
    bad = await client.get("/open311/v2/requests.json", params=key | {"status": "pending"})
    assert bad.status == 400
