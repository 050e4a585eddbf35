"""Ticket actions from the desk and the API go through the lifecycle and the outbox like chat commands,
and tell the same people in the same words."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.texts import chat
from bot.texts import desk as desk_texts
from storage.models import OutboxItem, PointEntry, Ticket, TicketEvent
from tests.desk.conftest import World, csrf_of, login

Client = TestClient[Any, Any]


async def said_about(world: World, ticket_id: int, after: int = 0) -> list[OutboxItem]:
    async with world.store.sessions() as session:
        rows = await session.scalars(
            select(OutboxItem).where(OutboxItem.ticket_id == ticket_id, OutboxItem.id > after).order_by(OutboxItem.id)
        )
        return list(rows.all())


async def last_outbox_id(world: World) -> int:
    async with world.store.sessions() as session:
        return int(await session.scalar(select(OutboxItem.id).order_by(OutboxItem.id.desc()).limit(1)) or 0)


async def ticket(world: World, ticket_id: int) -> Ticket:
    async with world.store.sessions() as session:
        found = await session.get(Ticket, ticket_id)
        assert found is not None
        return found


async def test_a_leader_resolves_from_the_desk_and_the_group_hears_it_as_from_chat(
    client: Client, world: World
) -> None:
    lamp = world.tickets["lamp"]
    before = await last_outbox_id(world)
    csrf = await login(client, "li")
    page = await client.get(f"/desk/tickets/{lamp}")
    assert "办结说明" in await page.text()
    response = await client.post(f"/desk/tickets/{lamp}/resolve", data={"_csrf": csrf, "note": "已换灯管"})
    assert response.status == 200
    assert str(response.url).endswith(f"/desk/tickets/{lamp}?done=resolve")
    assert desk_texts.DONE["resolve"] in await response.text()
    done = await ticket(world, lamp)
    assert (done.state, done.resolution_note) == ("resolved", "已换灯管")
    (say,) = await said_about(world, lamp, before)
    assert (say.kind, say.platform, say.chat_id) == ("say", "sim", "sim-sdc-3")
    assert say.text.endswith(chat.resolved(lamp, "李杏珊", "已换灯管"))  # the words of 办结 in chat
    assert say.mentions == ["r-chen"]  # the reporter is @-mentioned
    async with world.store.sessions() as session:
        events = (await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == lamp))).all()
        points = (await session.scalars(select(PointEntry).where(PointEntry.ticket_id == lamp))).all()
    assert (events[-1].action, events[-1].actor) == ("resolve", "p-li")
    assert [(p.person_id, p.reason) for p in points] == [("p-li", "resolve")]


async def test_transfer_tells_the_new_assignee_as_转派_does(client: Client, world: World) -> None:
    lamp = world.tickets["lamp"]
    before = await last_outbox_id(world)
    csrf = await login(client, "tan")  # the estate's branch secretary, above the building
    response = await client.post(f"/desk/tickets/{lamp}/transfer", data={"_csrf": csrf, "person": "p-he"})
    assert response.status == 200
    assert (await ticket(world, lamp)).assignee_id == "p-he"
    said = await said_about(world, lamp, before)
    assert [(s.kind, s.chat_id or s.recipient) for s in said] == [("say", "sim-sdc-3"), ("dm", "he")]
    assert said[0].text == chat.transferred(lamp, "李杏珊", "何秀英")
    assert said[1].text == chat.new_assignment(lamp, "谭丽娟", "6楼走廊灯坏了，晚上好黑")


async def test_escalate_reaches_the_level_above(client: Client, world: World) -> None:
    lamp = world.tickets["lamp"]
    before = await last_outbox_id(world)
    csrf = await login(client, "li")
    assert (await client.post(f"/desk/tickets/{lamp}/escalate", data={"_csrf": csrf})).status == 200
    done = await ticket(world, lamp)
    assert (done.state, done.escalation_level) == ("escalated", 1)
    dms = [s.recipient for s in await said_about(world, lamp, before) if s.kind == "dm"]
    assert dms == ["tan"]


async def test_refusals_say_why_and_change_nothing(client: Client, world: World) -> None:
    lift = world.tickets["lift"]
    async with world.store.sessions() as session:
        assignee = (await session.get(Ticket, lift)).assignee_id  # type: ignore[union-attr]
    bystander = "zhou" if assignee == "p-wu" else "wu"  # the building's other leader: sees it, may not act
    csrf = await login(client, bystander)
    before = await last_outbox_id(world)
    forbidden = await client.post(f"/desk/tickets/{lift}/resolve", data={"_csrf": csrf, "note": "x"})
    assert forbidden.status == 403
    assert "只能由责任人或上级网格办结" in await forbidden.text()
    no_reason = await client.post(f"/desk/tickets/{lift}/reject", data={"_csrf": csrf, "note": ""})
    assert no_reason.status in (400, 403)
    await client.post("/desk/logout", data={"_csrf": csrf_of(await (await client.get("/desk/tickets")).text())})
    csrf = await login(client, "mai")
    assert (await client.post(f"/desk/tickets/{lift}/reject", data={"_csrf": csrf})).status == 400
    assert (await client.post(f"/desk/tickets/{lift}/resolve", data={"_csrf": csrf, "note": "修好了"})).status == 200
    twice = await client.post(f"/desk/tickets/{lift}/resolve", data={"_csrf": csrf, "note": "again"})
    assert twice.status == 409
    assert "目前已办结，待评价，不能办结" in await twice.text()
    assert (await client.post(f"/desk/tickets/{lift}/fly", data={"_csrf": csrf})).status == 400
    assert (await client.post(f"/desk/tickets/{lift}/resolve", data={"note": "no csrf"})).status == 403
    assert len(await said_about(world, lift, before)) == 1  # only the one real 办结 was announced


async def test_correcting_to_major_puts_it_before_the_council_and_tells_the_grid(client: Client, world: World) -> None:
    rubbish = world.tickets["rubbish"]
    before = await last_outbox_id(world)
    csrf = await login(client, "chen")
    response = await client.post(
        f"/desk/tickets/{rubbish}/correct", data={"_csrf": csrf, "kind": "major", "domain": "安全管理"}
    )
    assert response.status == 200
    done = await ticket(world, rubbish)
    assert (done.kind, done.domain, done.council_pending) == ("major", "安全管理", True)
    said = await said_about(world, rubbish, before)
    # As 改为大事 in chat: the assignee and the grid above are told (not whoever corrected it), and the group.
    assert {s.recipient for s in said if s.kind == "dm"} == {"liang", "tan", "huangmin"}
    [group] = [s for s in said if s.kind == "say"]
    assert (group.chat_id, "改为大事" in group.text) == ("sim-sdc-1", True)
    council = await (await client.get("/desk/council")).text()
    assert f"#{rubbish}" in council


async def test_the_api_acts_too_and_refuses_what_the_desk_refuses(client: Client, world: World) -> None:
    lamp, nanhu = world.tickets["lamp"], world.tickets["nanhu"]
    headers = {"Authorization": f"Bearer {world.tokens['li']}"}
    accepted = await client.post(f"/api/v1/tickets/{lamp}/actions", json={"action": "accept"}, headers=headers)
    assert accepted.status == 200
    body = await accepted.json()
    assert body["ticket"]["state"] == "accepted"
    assert body["ticket"]["said"][-1]["text"].endswith(chat.accepted(lamp, "李杏珊", "6楼走廊灯坏了，晚上好黑"))
    other = await client.post(f"/api/v1/tickets/{nanhu}/actions", json={"action": "accept"}, headers=headers)
    assert other.status == 404
    bad = await client.post(f"/api/v1/tickets/{lamp}/actions", data="not json", headers=headers)
    assert bad.status == 400
    assert (await bad.json())["error"]["message"] == desk_texts.BAD_BODY
    stranger = await client.post(
        f"/api/v1/tickets/{lamp}/actions", json={"action": "transfer", "person": "p-nh-lin"}, headers=headers
    )
    assert stranger.status == 400  # not on this community's grid
