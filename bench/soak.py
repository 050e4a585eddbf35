"""A busy day, compressed: the soak test (on demand, never in CI).

    python -m bench.soak                                   # 200 groups, 50,000 messages, PostgreSQL
    python -m bench.soak --messages 5000 --sqlite          # smaller, on SQLite (no outage then)

Traffic: about 20% reports, 10% commands (residents' 进度 and 帮助, leaders' 接单 and 办结), the rest
chatter, plus one resident flooding 帮助 and platform retries of messages already delivered. The service
is stopped and started again every ``--restart-every`` messages, and PostgreSQL is paused for
``--outage-seconds`` once, mid-run, while messages keep arriving. At the end, the invariants:

* every message fed is stored exactly once, and has one outcome (classified; joined to a ticket or not);
* no ticket is opened twice for one report, no reminder or escalation recorded twice;
* no answer went twice to the same message;
* memory is flat: the resident set size of the second half grows by less than ``--rss-slack`` MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import resource
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import func, select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, import_org, open_store
from bot.message import IncomingMessage
from config.settings import Settings
from storage.models import Message, OutboxItem, Ticket, TicketEvent, TicketReminder

PROBLEMS = [
    "走廊灯坏了",
    "电梯又停了",
    "楼下垃圾没人收",
    "水管漏水",
    "楼上装修好吵",
    "门禁坏了",
    "停水了",
    "楼道堆满杂物",
]
CHATTER = ["大家早晨", "收到", "谢谢楼长", "[强]", "今天好热", "有没有人团购水果", "好的", "哈哈哈"]


def org_file(groups: int, path: Path) -> Path:
    estates = max(1, groups // 10)
    units, people, chats = [], [], []
    for e in range(estates):
        buildings = []
        for b in range(10):
            n = e * 10 + b
            if n >= groups:
                break
            bid = f"b{n}"
            buildings.append({"id": bid, "kind": "building", "name": f"{e}区{b}栋", "leaders": [f"p-{bid}"]})
            people.append(
                {
                    "id": f"p-{bid}",
                    "name": f"楼长{n}",
                    "role": "building_leader",
                    "unit": bid,
                    "platform_ids": {"sim": f"leader-{n}"},
                }
            )
            chats.append({"platform": "sim", "chat_id": f"g{n}", "name": f"{e}区{b}栋群", "unit": bid})
        units.append({"id": f"e{e}", "kind": "estate", "name": f"{e}区", "units": buildings})
        people.append(
            {
                "id": f"p-e{e}",
                "name": f"书记{e}",
                "role": "branch_secretary",
                "unit": f"e{e}",
                "platform_ids": {"sim": f"sec-{e}"},
            }
        )
    people.append({"id": "p-c", "name": "党委", "role": "committee", "unit": "c", "platform_ids": {"sim": "committee"}})
    data = {"communities": [{"id": "c", "name": "浸泡社区", "units": units}], "people": people, "groups": chats}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def traffic(groups: int, count: int, start: datetime, rng: random.Random) -> list[IncomingMessage]:
    out: list[IncomingMessage] = []
    clock = start
    opened = 0
    for i in range(count):
        clock += timedelta(seconds=rng.uniform(0.5, 2.5))
        g = rng.randrange(groups)
        roll = rng.random()
        sender, text = f"r{g}-{rng.randrange(40)}", rng.choice(CHATTER)
        if roll < 0.02:
            sender, g, text = "flooder", 0, "帮助"
        elif roll < 0.22:
            text = f"{rng.randrange(1, 30)}楼{rng.choice(PROBLEMS)}"
            opened += 1
        elif roll < 0.27:
            text = rng.choice(["进度", "帮助"])
        elif roll < 0.32 and opened:
            sender, text = f"leader-{g}", f"{rng.choice(['接单', '办结'])} #{rng.randrange(1, opened + 1)} 已处理"
        out.append(IncomingMessage("sim", f"g{g}", f"g{g}", sender, sender, text, f"m{i}", clock))
    return out


async def soak(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(13)
    work = Path(tempfile.mkdtemp(prefix="linli-soak-"))
    server = None
    if args.sqlite:
        url = f"sqlite+aiosqlite:///{work / 'soak.db'}"
    else:
        from tests.postgres import PostgresServer

        server = PostgresServer.start()
        url = server.fresh_database_url()
    settings = Settings(database_url=url, database_retry_seconds=max(60.0, args.outage_seconds * 4))
    settings.nlp.watch_seconds = 0
    start = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    messages = traffic(args.groups, args.messages, start, rng)
    fed: set[str] = set()
    rss: list[float] = []
    restarts = outages = retries = 0
    began = time.monotonic()
    try:
        async with open_store(settings) as store:
            await import_org(store, org_file(args.groups, work / "org.yaml"))
            service = Service(settings, store, [SimulatedAdapter()])
            for index, msg in enumerate(messages):
                if index and index % args.restart_every == 0:
                    await service.stop()
                    service = Service(settings, store, [SimulatedAdapter()])
                    restarts += 1
                if server is not None and index == len(messages) // 2:
                    server.pause()
                    threading.Timer(args.outage_seconds, server.resume).start()
                    outages += 1
                await service.receive(msg, now=msg.time)
                fed.add(msg.message_id)
                if rng.random() < 0.01:  # the platform delivers it again
                    await service.receive(msg, now=msg.time)
                    retries += 1
                if index % 20 == 0:
                    await service.scheduler.tick(msg.time)
                    await service.outbox.drain(now=msg.time)
                if index % 500 == 0:
                    gc.collect()
                    rss.append(rss_mib())
            await service.outbox.drain(now=messages[-1].time + timedelta(days=1))
            await service.stop()
            async with store.sessions() as s:
                stored = int(await s.scalar(select(func.count()).select_from(Message)) or 0)
                distinct = int(await s.scalar(select(func.count(func.distinct(Message.message_id)))) or 0)
                unclassified = int(await s.scalar(select(func.count()).where(Message.kind.is_(None))) or 0)
                tickets = int(await s.scalar(select(func.count()).select_from(Ticket)) or 0)
                opens = int(await s.scalar(select(func.count()).where(TicketEvent.action == "open")) or 0)
                reminders = int(await s.scalar(select(func.count()).select_from(TicketReminder)) or 0)
                twice = (
                    await s.execute(
                        select(OutboxItem.in_reply_to, OutboxItem.chat_id, OutboxItem.recipient, OutboxItem.text)
                        .where(OutboxItem.in_reply_to.is_not(None))
                        .group_by(OutboxItem.in_reply_to, OutboxItem.chat_id, OutboxItem.recipient, OutboxItem.text)
                        .having(func.count() > 1)
                    )
                ).all()
                flood_answers = int(
                    await s.scalar(
                        select(func.count())
                        .select_from(OutboxItem)
                        .join(Message, Message.message_id == OutboxItem.in_reply_to)
                        .where(Message.sender_id == "flooder")
                    )
                    or 0
                )
    finally:
        if server is not None:
            server.stop()
    elapsed = time.monotonic() - began
    half = rss[len(rss) // 2 :] or rss
    result: dict[str, object] = {
        "messages": len(messages),
        "seconds": round(elapsed, 1),
        "messages_per_second": round(len(messages) / elapsed, 1),
        "restarts": restarts,
        "outages": outages,
        "platform_retries": retries,
        "stored": stored,
        "tickets": tickets,
        "reminders": reminders,
        "flood_messages": sum(1 for m in messages if m.sender_id == "flooder"),
        "flood_answers": flood_answers,
        "rss_mib_first_last": (round(rss[0], 1), round(rss[-1], 1)) if rss else None,
        "rss_growth_second_half_mib": round(max(half) - min(half), 1) if half else None,
    }
    problems = []
    if stored != len(fed) or distinct != stored:
        problems.append(f"stored {stored} rows ({distinct} distinct) for {len(fed)} messages")
    if unclassified:
        problems.append(f"{unclassified} message(s) without an outcome")
    if opens != tickets:
        problems.append(f"{opens} open events for {tickets} tickets")
    if twice:
        problems.append(f"{len(twice)} answer(s) sent twice")
    if half and max(half) - min(half) > args.rss_slack:
        problems.append(f"memory grew {max(half) - min(half):.0f} MiB in the second half")
    result["invariants"] = problems if problems else "all hold"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--restart-every", type=int, default=2_000)
    parser.add_argument("--outage-seconds", type=float, default=15.0)
    parser.add_argument("--rss-slack", type=float, default=40.0)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of a throwaway PostgreSQL (no outage)")
    result = asyncio.run(soak(parser.parse_args()))
    for key, value in result.items():
        print(f"{key}: {value}")
    if result["invariants"] != "all hold":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
