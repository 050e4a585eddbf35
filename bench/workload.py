"""A district's evening of group chat, generated: the org file, the messages, and a backlog of old tickets.

The generator knows what linli will do with every message it writes, so the commands it writes name the
tickets that will really exist: distinct reports name different rooms (reports naming different rooms
never merge), a repeated report repeats an open ticket's words exactly (it always merges), and every
report text is checked once with the classifier the service runs. ``Workload.tickets`` is the number of
tickets the replay must open; the benchmark compares it with what it did.

The backlog stands for a district whose leaders have fallen behind: unfinished tickets opened over the
previous months (most stuck at the top of the grid with nothing due, a slice coming due during the
replay), as many finished ones, and three stored messages per ticket.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.chatter import GREETINGS
from storage.models import Message, Ticket, TicketEvent, TicketReporter

START = datetime.fromisoformat("2026-11-16T18:00:00+08:00")
"""A Monday evening: the busy hours, before the quiet hours begin at 22:00."""

PROBLEMS = (
    "门口的灯坏了，晚上好黑",
    "门口漏水，麻烦处理一下",
    "门口垃圾没人收",
    "门口下水道堵了",
    "楼道灯不亮",
    "门口好臭",
    "门禁刷不开",
    "家里停电了",
    "家里冇水",
    "楼上装修好吵",
    "楼上漏水到我家",
    "门口堆满杂物",
    "门口车位被占了",
    "电梯坏了",
    "楼道有人抽烟",
    "隔壁狗一直叫",
    "门口有老鼠",
    "宽带断了上不了网",
    "门口有煤气味",
    "门口积水好深",
)
CHATTER = (
    *GREETINGS,
    "大家晚上好",
    "吃饭了吗",
    "明天见",
    "今天的菜好贵",
    "孩子放学了",
    "晚安各位",
    "有人拼车去广州吗",
    "我也觉得",
    "支持楼长",
    "周末去哪玩",
    "天气预报说明天下雨",
    "楼下那家面馆好吃",
    "收到，谢谢通知",
)
REPORT_SHARE = 0.20
COMMAND_SHARE = 0.10
PHOTO_SHARE = 0.01
REPEAT_SHARE = 0.15
"""Of the reports: how many repeat an open ticket of the same group word for word (a neighbour adding a voice)."""
MERGE_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class Group:
    chat_id: str
    name: str
    building: str
    estate: str
    community: str
    leader: str
    """The building leader's sim user id."""
    secretary: str


@dataclass(frozen=True)
class District:
    """``communities`` x ``estates`` x ``buildings``: one group per building, a leader per building, a branch
    secretary per estate and two committee members per community."""

    communities: int
    estates: int
    buildings: int

    @classmethod
    def with_groups(cls, groups: int) -> District:
        """A district of about ``groups`` groups (four estates of five buildings per community)."""
        return cls(max(1, round(groups / 20)), 4, 5) if groups >= 20 else cls(1, 1, groups)

    def groups(self) -> list[Group]:
        out = []
        for c in range(self.communities):
            for e in range(self.estates):
                for b in range(self.buildings):
                    building = f"c{c}-e{e}-b{b}"
                    out.append(
                        Group(
                            chat_id=f"g-{building}",
                            name=f"{c}社区{e}小区{b}栋业主群",
                            building=building,
                            estate=f"c{c}-e{e}",
                            community=f"c{c}",
                            leader=f"lead-{building}",
                            secretary=f"sec-c{c}-e{e}",
                        )
                    )
        return out

    def org(self) -> dict[str, Any]:
        """The org file (docs/org.md) as a mapping."""
        communities: list[dict[str, Any]] = []
        people: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
        for c in range(self.communities):
            estates = []
            for k in range(2):
                people.append(_person(f"p-c{c}-k{k}", f"社区委员{c}-{k}", "committee", f"c{c}", f"com-c{c}-k{k}"))
            for e in range(self.estates):
                estate = f"c{c}-e{e}"
                people.append(_person(f"p-{estate}", f"书记{c}-{e}", "branch_secretary", estate, f"sec-{estate}"))
                buildings = []
                for b in range(self.buildings):
                    building = f"{estate}-b{b}"
                    leader = f"p-{building}"
                    buildings.append({"id": building, "kind": "building", "name": f"{e}小区{b}栋", "leaders": [leader]})
                    people.append(_person(leader, f"楼长{c}-{e}-{b}", "building_leader", building, f"lead-{building}"))
                    groups.append(
                        {
                            "platform": "sim",
                            "chat_id": f"g-{building}",
                            "name": f"{c}社区{e}小区{b}栋业主群",
                            "unit": building,
                        }
                    )
                estates.append({"id": estate, "kind": "estate", "name": f"{c}社区{e}小区", "units": buildings})
            communities.append({"id": f"c{c}", "kind": "community", "name": f"第{c}社区", "units": estates})
        return {"communities": communities, "people": people, "groups": groups, "co_units": []}

    def write_org(self, path: Path) -> Path:
        path.write_text(yaml.safe_dump(self.org(), allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path


def _person(pid: str, name: str, role: str, unit: str, sim_id: str) -> dict[str, Any]:
    return {"id": pid, "name": name, "role": role, "unit": unit, "platform_ids": {"sim": sim_id}}


@dataclass
class _Open:
    id: int
    text: str
    opened: datetime
    state: str = "assigned"
    reporters: list[str] = field(default_factory=list)


@dataclass
class Workload:
    records: list[dict[str, Any]]
    tickets: int
    """Tickets the replay opens."""
    commands: int
    reports: int

    def write(self, path: Path) -> Path:
        with path.open("w", encoding="utf-8") as out:
            for record in self.records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return path


def report_checker() -> Callable[[str], bool]:
    """Whether the service's classifier reads a text as a report (trivial or major): the generator writes
    only reports it knows will open or join a ticket."""
    from config.settings import NlpSettings
    from nlp.classifier import load_classifier
    from nlp.decision import Kind

    nlp = NlpSettings()
    classifier = load_classifier(nlp.rules_file, nlp.cache_dir, max_chars=nlp.max_text_chars, model_file=nlp.model_file)
    return lambda text: classifier.classify(text).kind in (Kind.TRIVIAL, Kind.MAJOR)


def generate(
    district: District,
    messages: int,
    *,
    first_ticket: int = 1,
    start: datetime = START,
    spacing: timedelta = timedelta(milliseconds=100),
    seed: int = 12,
    is_report: Callable[[str], bool] | None = None,
    reports: float = REPORT_SHARE,
    commands: float = COMMAND_SHARE,
) -> Workload:
    """``messages`` records, one every ``spacing``, ``reports`` and ``commands`` of them (shares) reports and
    commands; ticket numbers continue from ``first_ticket``."""
    rng = random.Random(seed)
    check = is_report or report_checker()
    # chatter the classifier reads as a report would open tickets the workload does not expect
    chatter = [text for text in CHATTER if not check(text)]
    groups = district.groups()
    rooms = dict.fromkeys((g.chat_id for g in groups), 100)
    open_by_group: dict[str, list[_Open]] = {g.chat_id: [] for g in groups}
    next_id = first_ticket
    records: list[dict[str, Any]] = []
    counters = {"reports": 0, "commands": 0}
    residents = 0

    def record(group: Group, sender: str, name: str, text: str, when: datetime, **extra: Any) -> None:
        records.append(
            {
                "platform": "sim",
                "chat_id": group.chat_id,
                "chat_name": group.name,
                "sender_id": sender,
                "sender_name": name,
                "text": text,
                "message_id": f"m{len(records) + 1}",
                "time": when.isoformat(),
                **extra,
            }
        )

    for index in range(messages):
        when = start + spacing * index
        group = rng.choice(groups)
        tickets = open_by_group[group.chat_id]
        roll = rng.random()
        if roll < reports:
            counters["reports"] += 1
            residents += 1
            sender = f"r{residents}"
            recent = [t for t in tickets if t.state != "resolved" and when - t.opened < MERGE_WINDOW]
            if recent and rng.random() < REPEAT_SHARE:
                joined = rng.choice(recent)
                joined.reporters.append(sender)
                record(group, sender, f"居民{residents}", joined.text, when)
                continue
            while True:
                rooms[group.chat_id] += 1
                text = f"{rooms[group.chat_id]}室{rng.choice(PROBLEMS)}"
                if check(text):
                    break
            tickets.append(_Open(next_id, text, when, reporters=[sender]))
            next_id += 1
            record(group, sender, f"居民{residents}", text, when)
            continue
        if roll < reports + commands:
            counters["commands"] += 1
            sender, name, text = _command(rng, group, tickets)
            record(group, sender, name, text, when)
            continue
        if roll < reports + commands + PHOTO_SHARE and tickets:
            latest = tickets[-1]
            record(group, latest.reporters[0], "居民", "", when, content_type="image")
            continue
        residents += 1
        record(group, f"r{residents}", f"居民{residents}", rng.choice(chatter), when)
    return Workload(records, next_id - first_ticket, counters["commands"], counters["reports"])


def _command(rng: random.Random, group: Group, tickets: list[_Open]) -> tuple[str, str, str]:
    """(sender, name, text) of a command that fits the group's tickets as they stand."""
    leader = (group.leader, "楼长")
    assigned = [t for t in tickets if t.state == "assigned"]
    accepted = [t for t in tickets if t.state == "accepted"]
    resolved = [t for t in tickets if t.state == "resolved"]
    roll = rng.random()
    if roll < 0.35 and assigned:
        ticket = rng.choice(assigned)
        ticket.state = "accepted"
        return (*leader, f"接单 #{ticket.id}")
    if roll < 0.55 and accepted:
        ticket = rng.choice(accepted)
        ticket.state = "resolved"
        return (*leader, f"办结 #{ticket.id} 已处理好")
    if roll < 0.65 and resolved:
        ticket = rng.choice(resolved)
        tickets.remove(ticket)
        return ticket.reporters[0], "居民", f"评价 #{ticket.id} 满意"
    if roll < 0.75 and tickets:
        ticket = rng.choice(tickets)
        return ticket.reporters[0], "居民", rng.choice((f"进度 #{ticket.id}", "进度"))
    if roll < 0.85:
        return (*leader, "我的任务")
    if roll < 0.92:
        return group.secretary, "书记", "待办"
    return f"r-help-{rng.randrange(10**6)}", "居民", rng.choice(("帮助", "排行"))


# --- the backlog ---------------------------------------------------------------------------------------

BACKLOG_DAYS = 90
DUE_SHARE = 0.01
"""Of the unfinished backlog: how many come due during the replay (the rest wait at the top of the grid)."""


async def preload(
    sessions: async_sessionmaker[AsyncSession], district: District, unfinished: int, start: datetime = START
) -> int:
    """Insert ``unfinished`` unfinished tickets, as many finished ones and three messages per ticket, as
    linli would have left them; returns the number the next ticket gets."""
    rng = random.Random(unfinished)
    groups = district.groups()
    utc = start.astimezone(UTC)
    async with sessions.begin() as session:
        first = int(await session.scalar(select(func.coalesce(func.max(Ticket.id), 0))) or 0) + 1
        first_message = int(await session.scalar(select(func.coalesce(func.max(Message.id), 0))) or 0) + 1
    total = 2 * unfinished
    for chunk_start in range(0, total, 5_000):
        tickets, reporters, events, stored = [], [], [], []
        for n in range(chunk_start, min(total, chunk_start + 5_000)):
            tid = first + n
            group = groups[n % len(groups)]
            finished = n >= unfinished
            due = not finished and rng.random() < DUE_SHARE
            opened = utc - (timedelta(hours=1) if due else timedelta(minutes=rng.randrange(5, BACKLOG_DAYS * 1440)))
            state = "closed" if finished else "assigned" if due else rng.choice(("escalated", "escalated", "accepted"))
            summary = f"{100_000 + n}室{PROBLEMS[n % len(PROBLEMS)]}"
            tickets.append(
                {
                    "id": tid,
                    "community_id": group.community,
                    "unit_id": group.building,
                    "platform": "sim",
                    "chat_id": group.chat_id,
                    "kind": "trivial",
                    "urgent": False,
                    "domain": "日常生活",
                    "state": state,
                    "summary": summary,
                    "assignee_id": f"p-{group.building}",
                    "opened_at": opened,
                    "accepted_at": opened + timedelta(hours=1) if state in ("accepted", "closed") else None,
                    "resolved_at": opened + timedelta(hours=5) if finished else None,
                    "closed_at": opened + timedelta(days=3) if finished else None,
                    "escalation_level": 2 if state == "escalated" else 0,
                    "decision": {},
                    "resolution_note": "",
                    "council_pending": False,
                    "sla_due_at": opened if due else None,
                    "sla_state": None if due else state,
                    "sla_stage": None if due or finished else "accept",
                    "sla_cycle": 0 if due else 1,
                    "sla_step": 0,
                    "sla_started_at": None if due else opened,
                    "sla_deadline_at": None,
                }
            )
            reporters.append(
                {
                    "ticket_id": tid,
                    "platform": "sim",
                    "sender_id": f"old-{n}",
                    "sender_name": "街坊",
                    "person_id": None,
                    "reported_at": opened,
                }
            )
            events.append(
                {
                    "ticket_id": tid,
                    "at": opened,
                    "actor": f"sim:old-{n}",
                    "action": "open",
                    "from_state": None,
                    "to_state": "open",
                    "note": "",
                }
            )
            for k in range(3):
                stored.append(
                    {
                        "id": first_message + 3 * n + k,
                        "platform": "sim",
                        "message_id": f"old-{n}-{k}",
                        "chat_id": group.chat_id,
                        "chat_name": group.name,
                        "sender_id": f"old-{n}",
                        "sender_name": "街坊",
                        "text": summary if k == 0 else CHATTER[(n + k) % len(CHATTER)],
                        "truncated": False,
                        "content_type": "text",
                        "sent_at": opened + timedelta(minutes=k),
                        "kind": "trivial" if k == 0 else "noise",
                        "urgent": False,
                        "domain": "日常生活" if k == 0 else "其他",
                        "confidence": 0.9,
                        "rules": [],
                        "ticket_id": tid if k == 0 else None,
                    }
                )
        async with sessions.begin() as session:
            await session.execute(insert(Ticket), tickets)
            await session.execute(insert(TicketReporter), reporters)
            await session.execute(insert(TicketEvent), events)
            await session.execute(insert(Message), stored)
    async with sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            for table in ("tickets", "messages"):
                await session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    return first + total


def lines(workload: Workload) -> Iterator[str]:
    for record in workload.records:
        yield json.dumps(record, ensure_ascii=False)
