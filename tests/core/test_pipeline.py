"""The whole loop on the simulated platform: reports become tickets, the grid is told, residents answered."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.message import DirectMessage, Say
from storage.models import ChatGroup, Message, OutboxItem, Ticket
from storage.ticket_repo import TicketRepo
from tests.conftest import Chat

Sim = tuple[Service, SimulatedAdapter]


async def tickets(service: Service) -> list[Ticket]:
    async with service.store.sessions() as session:
        return list(await TicketRepo(session).list())


async def count(service: Service, model: type) -> int:
    async with service.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def deliver(service: Service, *messages: object) -> None:
    for msg in messages:
        await service.receive(msg)  # type: ignore[arg-type]
    await service.outbox.drain()


async def test_trivial_report_goes_to_the_building_leader(sim: Sim) -> None:
    service, adapter = sim
    chat = Chat("sim-sdc-3")
    await deliver(service, chat.msg("r-chen", "6楼走廊灯坏了，晚上好黑", name="陈生"))

    [ticket] = await tickets(service)
    assert (ticket.kind, ticket.state, ticket.unit_id, ticket.assignee_id) == ("trivial", "assigned", "sdc-3", "p-li")
    assert [r.sender_id for r in ticket.reporters] == ["r-chen"]

    says = [m for m in adapter.sent if isinstance(m, Say)]
    dms = [m for m in adapter.sent if isinstance(m, DirectMessage)]
    assert len(says) == 1
    assert says[0].chat_id == "sim-sdc-3"
    assert says[0].mentions == ("r-chen",)
    assert says[0].text.startswith("@陈生 已记录 #1")
    assert "已通知楼长 李杏珊" in says[0].text
    assert [(d.to, d.platform) for d in dms] == [("lixingshan", "sim")]
    assert "#1" in dms[0].text
    assert "接单 #1" in dms[0].text


async def test_major_report_reaches_branch_and_committee(sim: Sim) -> None:
    service, adapter = sim
    await deliver(service, Chat("sim-jjhy-a").msg("r-xu", "A座今天又停水了，成栋楼都没水", name="许生"))

    [ticket] = await tickets(service)
    assert ticket.kind == "major"
    assert ticket.assignee_id in ("p-zhou", "p-wu")
    dm_targets = {m.to for m in adapter.sent if isinstance(m, DirectMessage)}
    assert {"mai", "chen", "huangmin"} <= dm_targets
    [ack] = [m for m in adapter.sent if isinstance(m, Say)]
    assert "社区党委 陈志华" in ack.text
    assert "小区党支部书记 麦国强" in ack.text


async def test_load_is_spread_between_two_leaders_of_one_building(sim: Sim) -> None:
    service, _ = sim
    chat = Chat("sim-jjhy-a")
    await deliver(service, chat.msg("r-1", "3楼走廊灯坏了"), chat.msg("r-2", "门口垃圾没人收"))
    assignees = sorted(t.assignee_id or "" for t in await tickets(service))
    assert assignees == ["p-wu", "p-zhou"]


async def test_urgent_report_tells_the_reporter_whom_to_call(sim: Sim) -> None:
    service, adapter = sim
    await deliver(service, Chat("sim-jjhy-a").msg("r-luo", "2单元楼道有好浓的煤气味", name="罗姨"))
    [ticket] = await tickets(service)
    assert ticket.urgent
    [ack] = [m for m in adapter.sent if isinstance(m, Say)]
    assert "119" in ack.text
    assert "96777" in ack.text


async def test_estate_group_routes_to_the_branch_secretary(sim: Sim) -> None:
    service, _ = sim
    await deliver(service, Chat("sim-sdc").msg("r-gao", "小区东门的路灯坏了好几天"))
    [ticket] = await tickets(service)
    assert (ticket.unit_id, ticket.assignee_id) == ("sdc", "p-tan")


@pytest.mark.parametrize("text", ["谢谢楼长！辛苦了", "", "   ", "[强][强]", "😀😀😀"])
async def test_noise_and_empty_messages_are_stored_without_tickets(sim: Sim, text: str) -> None:
    service, adapter = sim
    await deliver(service, Chat("sim-sdc-3").msg("r-lin", text))
    assert await tickets(service) == []
    assert await count(service, Message) == 1
    assert adapter.sent == []


async def test_redelivered_message_changes_nothing(sim: Sim) -> None:
    service, adapter = sim
    msg = Chat("sim-sdc-3").msg("r-chen", "6楼走廊灯坏了")
    await deliver(service, msg)
    sent_before = len(adapter.sent)
    result = await service.receive(msg)
    await service.outbox.drain()
    assert result.duplicate
    assert len(await tickets(service)) == 1
    assert await count(service, Message) == 1
    assert len(adapter.sent) == sent_before


async def test_unknown_group_is_stored_and_logged_once(sim: Sim, caplog: pytest.LogCaptureFixture) -> None:
    service, adapter = sim
    chat = Chat("sim-nobody-knows")
    with caplog.at_level(logging.WARNING, logger="bot.pipeline"):
        await deliver(service, chat.msg("r-1", "6楼走廊灯坏了"), chat.msg("r-2", "楼道有煤气味"))
    assert await tickets(service) == []
    assert await count(service, Message) == 2
    assert adapter.sent == []
    warnings = [r for r in caplog.records if "not in the org" in r.getMessage()]
    assert len(warnings) == 1
    async with service.store.sessions() as session:
        group = await session.get(ChatGroup, ("sim", "sim-nobody-knows"))
    assert group is not None
    assert group.unit_id is None


async def test_direct_message_makes_no_ticket(sim: Sim) -> None:
    service, _ = sim
    await deliver(service, Chat("dm").msg("wangayi", "楼道灯坏了"))
    assert await tickets(service) == []


async def test_huge_message_is_stored_truncated_and_classified(sim: Sim) -> None:
    service, _ = sim
    text = "楼道有煤气味" + "啊" * 100_000
    await deliver(service, Chat("sim-sdc-3").msg("r-1", text))
    async with service.store.sessions() as session:
        stored = (await session.scalars(select(Message))).one()
    assert stored.truncated
    assert len(stored.text) == service.settings.max_message_chars
    assert len(await tickets(service)) == 1


async def test_hostile_text_never_crashes(sim: Sim) -> None:
    service, _ = sim
    chat = Chat("sim-sdc-3")
    for text in ["\x00\x01\x1b[31m灯坏了", "\ud800\udfff 停水", "Ⅻ𝔘𝔫𝔦ｃｏｄｅ مرحبا 灯", "\u202e反转"]:
        result = await service.receive(chat.msg("r-x", text))
        assert result.stored
    assert await count(service, Message) == 4


async def test_failed_handler_rolls_back_ticket_and_outbox_but_keeps_message(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, adapter = sim
    from storage.ticket_repo import TicketRepo as Repo

    async def broken(*_: object, **__: object) -> bool:
        raise RuntimeError("database hiccup after the ticket was written")

    monkeypatch.setattr(Repo, "add_reporter", broken)
    await deliver(service, Chat("sim-sdc-3").msg("r-chen", "6楼走廊灯坏了"))
    assert await tickets(service) == []
    assert await count(service, OutboxItem) == 0
    assert await count(service, Message) == 1
    assert adapter.sent == []


async def test_overlong_names_and_ids_are_fitted_not_refused(sim: Sim) -> None:
    service, _ = sim
    base = Chat("sim-sdc-3").msg("r-1", "6楼走廊灯坏了")
    from dataclasses import replace

    long_id = "m" * 500
    msg = replace(base, sender_name="名" * 300, chat_name="群" * 500, message_id=long_id, sender_id="u" * 300)
    assert (await service.receive(msg)).stored
    assert (await service.receive(msg)).duplicate
    other = replace(msg, message_id=long_id + "x")
    assert (await service.receive(other)).stored
    assert await count(service, Message) == 2


async def test_an_opened_ticket_holds_exactly_what_was_written(sim: Sim) -> None:
    """The ticket object a report opens joins the session as if read back: every column as the database has
    it, so nothing a handler reads from it differs from what a later read would give."""
    service, _ = sim
    async with service.store.sessions.begin() as session:
        opened = await TicketRepo(session).open(
            community_id="sdc",
            unit_id="sdc-3",
            platform="sim",
            chat_id="sim-sdc-3",
            kind="trivial",
            urgent=False,
            domain="公共设施",
            summary="6楼走廊灯坏了",
            decision={"kind": "trivial"},
            assignee_id="p-li",
            opened_at=Chat("sim-sdc-3").clock,
            actor="sim:r-chen",
        )
        held = {column.key: getattr(opened, column.key) for column in Ticket.__table__.columns}
        opened.council_pending = True  # a change after opening is written like any other
    async with service.store.sessions() as session:
        stored = await session.get(Ticket, held["id"])
        assert stored is not None
        read = {column.key: getattr(stored, column.key) for column in Ticket.__table__.columns}
        events = await TicketRepo(session).events(stored.id)
    assert read == {**held, "council_pending": True}
    assert [(e.action, e.to_state) for e in events] == [("open", "open"), ("assign", "assigned")]


def test_a_new_tickets_columns_default_as_the_model_says() -> None:
    from storage.ticket_repo import NEW_TICKET

    for column in Ticket.__table__.columns:
        if column.key == "id":
            continue
        default = column.default.arg if column.default is not None and column.default.is_scalar else None
        assert NEW_TICKET[column.key] == default, column.key
