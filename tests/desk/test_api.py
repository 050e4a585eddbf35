"""/api/v1 with aiohttp's test client: bearer tokens, the same scope as the desk, errors as JSON."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.desk.conftest import World

Client = TestClient[Any, Any]


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


@pytest.mark.parametrize(
    "path", ["/api/v1/me", "/api/v1/tickets", "/api/v1/tickets/1", "/api/v1/lists", "/api/v1/points", "/api/v1/stats"]
)
async def test_every_route_wants_a_valid_token(client: Client, world: World, path: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer lnl_not-a-token"},
        {"Authorization": f"Basic {world.tokens['chen']}"},
    ):
        response = await client.get(path, headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await response.json())["error"]["code"] == "unauthorized"


async def test_the_spec_is_public_and_describes_every_route(client: Client) -> None:
    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.0")
    assert set(spec["paths"]) == {
        "/me",
        "/units",
        "/tickets",
        "/tickets/{ticket_id}",
        "/tickets/{ticket_id}/actions",
        "/council/agenda",
        "/lists",
        "/points",
        "/stats",
    }


async def test_tickets_follow_the_callers_place_on_the_grid(client: Client, world: World) -> None:
    t = world.tickets
    me = await (await client.get("/api/v1/me", headers=bearer(world, "li"))).json()
    assert (me["name"], me["unit"], me["community"]) == ("李杏珊", "sdc-3", "beijiang")
    page = await (await client.get("/api/v1/tickets", headers=bearer(world, "li"))).json()
    assert {row["id"] for row in page["tickets"]} == {t["lamp"], t["water"]}
    assert page["total"] == 2
    lamp = next(row for row in page["tickets"] if row["id"] == t["lamp"])
    assert lamp["check"] is True
    assert lamp["state_title"] == "已派单，待接单"
    water = next(row for row in page["tickets"] if row["id"] == t["water"])
    assert water["check"] is False  # no "check" key in its decision: read as false
    filtered = await (await client.get("/api/v1/tickets?flag=check&q=走廊", headers=bearer(world, "chen"))).json()
    assert [row["id"] for row in filtered["tickets"]] == [t["lamp"]]


async def test_a_ticket_outside_the_scope_is_not_found_whoever_asks(client: Client, world: World) -> None:
    for user, key in (("li", "rubbish"), ("mai", "lamp"), ("chen", "nanhu"), ("song", "lift")):
        response = await client.get(f"/api/v1/tickets/{world.tickets[key]}", headers=bearer(world, user))
        assert response.status == 404, (user, key)
        assert (await response.json())["error"]["code"] == "not_found"
    ok = await client.get(f"/api/v1/tickets/{world.tickets['nanhu']}", headers=bearer(world, "song"))
    detail = await ok.json()
    assert detail["messages"][0]["text"] == "楼道灯不亮了，麻烦修一下"
    assert [h["action"] for h in detail["history"]] == ["open", "assign"]


async def test_lists_points_agenda_and_stats_are_scoped(client: Client, world: World) -> None:
    chen = await (await client.get("/api/v1/lists", headers=bearer(world, "chen"))).json()
    song = await (await client.get("/api/v1/lists", headers=bearer(world, "song"))).json()
    assert sum(n["open"] for n in chen["needs"]) == 5
    assert sum(n["open"] for n in song["needs"]) == 1
    assert song["resources"] == []  # 北江's co-building units are not 南湖's
    agenda = await (await client.get("/api/v1/council/agenda", headers=bearer(world, "song"))).json()
    assert agenda == {"items": []}
    stats = await (await client.get("/api/v1/stats?weeks=4", headers=bearer(world, "chen"))).json()
    assert len(stats["weeks"]) == 4
    assert stats["weeks"][-1]["opened"] == 5
    assert (await client.get("/api/v1/stats?weeks=0", headers=bearer(world, "chen"))).status == 400


async def test_a_bad_filter_is_a_400_with_a_chinese_message(client: Client, world: World) -> None:
    for query in ("state=nope", "building=nh-1", "community=nanhu", "per_page=1000", "q=%00"):
        response = await client.get(f"/api/v1/tickets?{query}", headers=bearer(world, "chen"))
        assert response.status == 400, query
        body = await response.json()
        assert body["error"]["code"] == "bad_filter"
