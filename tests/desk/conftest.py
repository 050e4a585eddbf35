"""A world for the desk's tests: two communities, tickets opened by chat, staff logins, a test client.

北江社区 is the example org; 南湖社区 is a second community whose tickets nobody in 北江 may read.
Tickets are opened the way residents open them, through the pipeline; a few are then marked in the
database (a deadline passed, the classifier's ``check`` flag) to exercise the filters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, Store, import_org, open_store
from bot.web.credentials import digest, hash_password, new_api_token
from bot.web.deps import WebDeps
from bot.web.site import create_site
from config.settings import Settings
from storage.desk_repo import DeskRepo
from storage.models import Ticket
from tests.conftest import EXAMPLE_ORG, T0, Chat

PASSWORD = "desk password 1"

NANHU: dict[str, Any] = {
    "communities": [
        {
            "id": "nanhu",
            "kind": "community",
            "name": "南湖社区",
            "units": [
                {
                    "id": "nh-e",
                    "kind": "estate",
                    "name": "南湖新村",
                    "units": [{"id": "nh-1", "kind": "building", "name": "南湖新村1栋", "leaders": ["p-nh-lin"]}],
                }
            ],
        }
    ],
    "people": [
        {"id": "p-nh-boss", "name": "宋建华", "role": "committee", "unit": "nanhu", "platform_ids": {"sim": "song"}},
        {"id": "p-nh-lin", "name": "林小红", "role": "building_leader", "unit": "nh-1", "platform_ids": {"sim": "lin"}},
    ],
    "groups": [{"platform": "sim", "chat_id": "sim-nh-1", "name": "南湖新村1栋群", "unit": "nh-1"}],
}

REPORTS = [
    ("lamp", "sim-sdc-3", "r-chen", "6楼走廊灯坏了，晚上好黑"),
    ("rubbish", "sim-sdc-1", "r-zhao", "门口垃圾两天没人收了，好臭"),
    ("lift", "sim-jjhy-a", "r-qian", "电梯又坏了，困住人了，快来人"),
    ("broadband", "sim-lxc-5", "r-huo", "家里宽带坏了，上不了网"),
    ("water", "sim-sdc-3", "r-sun", "3栋停水了，一滴水都没有"),
    ("nanhu", "sim-nh-1", "r-nh", "楼道灯不亮了，麻烦修一下"),
]

USERS = {
    "chen": "p-chen",
    "tan": "p-tan",
    "li": "p-li",
    "mai": "p-mai",
    "zhou": "p-zhou",
    "wu": "p-wu",
    "song": "p-nh-boss",
}


@functools.cache
def password_hash() -> str:
    """One argon2 hash of PASSWORD for every login of every test (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    settings: Settings
    store: Store
    service: Service
    adapter: SimulatedAdapter
    clock: Clock
    tickets: dict[str, int]
    tokens: dict[str, str] = field(default_factory=dict)


def merged_org(tmp_path: Path) -> Path:
    org = yaml.safe_load(EXAMPLE_ORG.read_text(encoding="utf-8"))
    for key in ("communities", "people", "groups"):
        org[key] = org[key] + NANHU[key]
    path = tmp_path / "two-communities.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
async def world(settings: Settings, tmp_path: Path) -> AsyncIterator[World]:
    async with open_store(settings) as store:
        built = await build_world(settings, store, tmp_path)
        yield built
        await built.service.stop()


async def build_world(settings: Settings, store: Store, tmp_path: Path) -> World:
    """The org of two communities, six reports through the pipeline, five logins with a token each."""
    await import_org(store, merged_org(tmp_path))
    adapter = SimulatedAdapter()
    service = Service(settings, store, [adapter])
    await adapter.start(service.receive)
    tickets: dict[str, int] = {}
    for key, chat_id, sender, text in REPORTS:
        chat = Chat(chat_id, start=T0 + timedelta(minutes=len(tickets) * 5))
        result = await service.receive(chat.msg(sender, text, message_id=key))
        assert len(result.ticket_ids) == 1, (key, result)
        (tickets[key],) = result.ticket_ids
    async with store.sessions.begin() as session:
        lamp = await session.get(Ticket, tickets["lamp"])
        rubbish = await session.get(Ticket, tickets["rubbish"])
        assert lamp is not None
        assert rubbish is not None
        lamp.decision = {**lamp.decision, "check": True}
        rubbish.sla_deadline_at = T0 + timedelta(hours=2)
        repo = DeskRepo(session)
        tokens = {}
        for name, person in USERS.items():
            user = await repo.add_user(name, person, password_hash(), T0)
            tokens[name] = new_api_token()
            await repo.add_token(user, digest(tokens[name]), "tests", T0)
    return World(settings, store, service, adapter, Clock(T0 + timedelta(days=1)), tickets, tokens)


@pytest.fixture
async def client(world: World) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_site(WebDeps(world.settings, world.store.sessions, clock=world.clock, receive=world.service.receive))
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def login(client: TestClient[Any, Any], name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the CSRF token of the first page after it."""
    page = await client.get("/desk/login")
    token = csrf_of(await page.text())
    response = await client.post("/desk/login", data={"name": name, "password": password, "_csrf": token})
    assert response.status == 200, await response.text()
    assert str(response.url.path) == "/desk/tickets"
    return csrf_of(await response.text())


async def ticket_ids_on(client: TestClient[Any, Any], path: str) -> list[int]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return [int(n) for n in re.findall(r'data-ticket="(\d+)"', await response.text())]


async def tickets_in(store: Store) -> list[Ticket]:
    async with store.sessions() as session:
        return list((await session.scalars(select(Ticket).order_by(Ticket.id))).all())
