"""The desk's pages, through aiohttp's test client: who sees what, filters, search, the record of a ticket."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.desk.conftest import World, login, ticket_ids_on

Client = TestClient[Any, Any]


async def test_anyone_not_signed_in_is_sent_to_the_login_page(client: Client, world: World) -> None:
    for path in ("/desk/tickets", f"/desk/tickets/{world.tickets['lamp']}", "/desk/council", "/desk/charts/rates.png"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/desk/login?next=")


async def test_committee_sees_its_whole_community_and_nothing_of_another(client: Client, world: World) -> None:
    await login(client, "chen")
    ids = await ticket_ids_on(client, "/desk/tickets")
    expected = {world.tickets[k] for k in ("lamp", "rubbish", "lift", "broadband", "water")}
    assert set(ids) == expected
    assert ids == sorted(ids, reverse=True)  # newest first


@pytest.mark.parametrize(
    ("user", "keys"),
    [
        ("li", {"lamp", "water"}),  # 李杏珊, leader of 时代城3栋
        ("tan", {"lamp", "water", "rubbish"}),  # 谭丽娟, branch secretary of 时代城小区
        ("mai", {"lift"}),  # 麦国强, 江景花园
        ("song", {"nanhu"}),  # the other community's committee
    ],
)
async def test_each_level_sees_its_part_of_the_grid(client: Client, world: World, user: str, keys: set[str]) -> None:
    await login(client, user)
    assert set(await ticket_ids_on(client, "/desk/tickets")) == {world.tickets[k] for k in keys}


async def test_filters_and_search_narrow_the_list(client: Client, world: World) -> None:
    await login(client, "chen")
    t = world.tickets
    assert set(await ticket_ids_on(client, "/desk/tickets?estate=sdc")) == {t["lamp"], t["water"], t["rubbish"]}
    assert set(await ticket_ids_on(client, "/desk/tickets?building=sdc-1")) == {t["rubbish"]}
    assert set(await ticket_ids_on(client, "/desk/tickets?kind=major")) >= {t["lift"]}
    assert t["lamp"] not in await ticket_ids_on(client, "/desk/tickets?kind=major")
    assert await ticket_ids_on(client, "/desk/tickets?overdue=1") == [t["rubbish"]]
    assert await ticket_ids_on(client, "/desk/tickets?flag=check") == [t["lamp"]]
    urgent = await ticket_ids_on(client, "/desk/tickets?flag=urgent")
    assert t["lift"] in urgent
    assert t["lamp"] not in urgent
    assert set(await ticket_ids_on(client, "/desk/tickets?flag=attention")) == {t["lamp"], *urgent}
    assert await ticket_ids_on(client, "/desk/tickets?q=宽带") == [t["broadband"]]
    assert await ticket_ids_on(client, "/desk/tickets?q=一滴水") == [t["water"]]  # the words of the chat message
    assert await ticket_ids_on(client, f"/desk/tickets?q=%23{t['lift']}") == [t["lift"]]
    assert await ticket_ids_on(client, "/desk/tickets?q=100%25") == []  # % is a character, not a wildcard
    domain = await ticket_ids_on(client, "/desk/tickets?domain=日常生活")
    assert t["broadband"] in domain
    assert t["lift"] not in domain
    assert set(await ticket_ids_on(client, "/desk/tickets?state=assigned")) == {
        t[k] for k in ("lamp", "rubbish", "lift", "broadband", "water")
    }


async def test_a_filter_outside_the_scope_is_refused_not_widened(client: Client, world: World) -> None:
    await login(client, "li")
    for query in ("building=sdc-1", "estate=jjhy", "building=nh-1", "community=nanhu"):
        response = await client.get(f"/desk/tickets?{query}")
        if response.status == 400:
            continue
        assert await ticket_ids_on(client, f"/desk/tickets?{query}") == [], query
    bad = await client.get("/desk/tickets?state=bogus")
    assert bad.status == 400
    assert "状态不正确" in await bad.text()


async def test_the_ticket_page_shows_its_history_and_the_chat_behind_it(client: Client, world: World) -> None:
    await login(client, "li")
    response = await client.get(f"/desk/tickets/{world.tickets['lamp']}")
    html = await response.text()
    assert response.status == 200
    assert "6楼走廊灯坏了，晚上好黑" in html  # the resident's own message
    assert "登记" in html
    assert "派单" in html  # opened, then assigned
    assert "李杏珊" in html
    assert "需核查" in html
    assert "已记录" in html  # what the bot said in the group


async def test_nobody_reads_another_units_ticket_by_changing_the_id(client: Client, world: World) -> None:
    await login(client, "li")
    for key in ("rubbish", "lift", "nanhu"):
        response = await client.get(f"/desk/tickets/{world.tickets[key]}")
        assert response.status == 404, key
        assert "不在您负责的范围内" in await response.text()
    missing = await client.get("/desk/tickets/999999")
    assert missing.status == 404


async def test_council_lists_and_points_pages_stay_in_scope(client: Client, world: World) -> None:
    await login(client, "chen")
    council = await (await client.get("/desk/council")).text()
    assert f"#{world.tickets['water']}" in council  # a major issue for the whole building
    lists = await (await client.get("/desk/lists")).text()
    assert "中国电信三水分公司" in lists
    assert "宽带维修" in lists
    assert (await client.get("/desk/points")).status == 200
    await client.post("/desk/logout", data={"_csrf": ""})
    await login(client, "song")
    council = await (await client.get("/desk/council")).text()
    assert f"#{world.tickets['water']}" not in council


async def test_the_charts_are_pngs(client: Client, world: World) -> None:
    await login(client, "chen")
    for name in ("domains", "weekly", "rates", "durations"):
        response = await client.get(f"/desk/charts/{name}.png")
        assert response.status == 200, name
        assert (await response.read())[:8] == b"\x89PNG\r\n\x1a\n"
