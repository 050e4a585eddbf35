"""``linli replay`` and ``linli demo``: recorded conversations through the whole pipeline."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import DatabaseInUse, Service, Store, import_org, open_store, refuse_if_live
from bot.cli.common import fail, settings_or_exit
from bot.message import IncomingMessage
from bot.recording import RecordError, action_record, parse_record
from config.org_file import OrgFileError
from config.settings import CONFIG_DIR, Settings
from storage.models import Message, OutboxItem, Ticket
from storage.outbox_repo import OutboxRepo

log = logging.getLogger(__name__)

PLATFORMS = ("sim", "console", "wechaty", "wecom")
SEND_CLAIM = 500
"""Outbox items a replay claims at once: its adapters only record, so a crash has nothing half-sent."""
DEMO_SCRIPT = CONFIG_DIR / "demo-conversation.jsonl"
EXAMPLE_ORG = CONFIG_DIR / "example-org.yaml"


DEMO_DATABASE = "sqlite+aiosqlite:///linli-demo.db"


def refuse_real_platforms(settings: Settings, command: str) -> None:
    """Replay feeds the simulated platform only: beside configured real platforms it would answer nobody,
    or worse, mark a live service's pending replies as sent."""
    configured = [name for name, on in (("wechaty", settings.wechaty.enabled), ("wecom", settings.wecom.enabled)) if on]
    if configured:
        fail(
            f"{command} runs on the simulated platform only, but {', '.join(configured)} is configured in these "
            "settings: use settings without real platforms (and a database no service uses)"
        )


async def refuse_live_database(store: Store, command: str) -> None:
    try:
        await refuse_if_live(store)
    except DatabaseInUse as exc:
        fail(f"{command} refused: {exc}; {command} into a copy of the database, or stop the service first")


def read_records(stream: IO[str], name: str) -> Iterator[IncomingMessage]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield parse_record(line)
        except RecordError as exc:
            log.error("%s:%d: skipped: %s", name, number, exc)


@dataclass
class ReplayStats:
    """What a replay measured: each message's time from entering the pipeline to its replies being sent."""

    latencies: list[float] = field(default_factory=list)
    clock_seconds: float = 0.0
    """Time spent on clock work (sweeps, digests) between messages; not counted in any message's time."""
    started_at: float | None = None
    """When the service was ready and the first message went in (``time.perf_counter``): start-up (the
    classifier, the adapters) comes before it."""

    def add(self, count: int, seconds: float) -> None:
        self.latencies.extend([seconds] * count)

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def replay(
    settings: Settings,
    store: Store,
    records: Iterator[IncomingMessage],
    on_action: Callable[[OutboxItem], None],
    on_message: Callable[[IncomingMessage], None] | None = None,
    prepare: Callable[[IncomingMessage], Awaitable[IncomingMessage]] | None = None,
    stats: ReplayStats | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Feed records in order, each at its own time, sending what each causes before the next; returns the count.

    Messages between two points of clock work (a sweep, a digest) go to the pipeline together, up to
    ``pipeline.batch_max`` to a transaction, and what they caused is sent before the clock moves on; the
    actions come out in the order one message at a time would give (by send time, then by when they were
    written). With ``on_message`` or ``prepare`` (the demo) every message goes alone."""
    adapters = [SimulatedAdapter(platform) for platform in PLATFORMS]
    service = Service(settings, store, list(adapters), observer=on_action)
    async with store.sessions() as session:
        service.outbox.after_id = await OutboxRepo(session).last_id()
    service.outbox.by_priority = False
    await service.outbox.recover()
    for adapter in adapters:
        await adapter.start(service.receive)
    stats = stats if stats is not None else ReplayStats()
    alone = on_message is not None or prepare is not None
    limit = 1 if alone else settings.pipeline.batch_max
    waiting: list[IncomingMessage] = []

    async def send_waiting() -> None:
        if not waiting:
            return
        started = time.perf_counter()
        await service.pipeline.feed_many([(msg, msg.time) for msg in waiting])
        await service.outbox.drain(now=waiting[-1].time, claim=SEND_CLAIM)
        stats.add(len(waiting), time.perf_counter() - started)
        if progress is not None:
            progress(len(waiting))
        waiting.clear()

    count = 0
    stats.started_at = time.perf_counter()
    for msg in records:
        if service.scheduler.due(msg.time):
            await send_waiting()
            started = time.perf_counter()
            await service.scheduler.tick(msg.time)
            stats.clock_seconds += time.perf_counter() - started
        if prepare is not None:
            msg = await prepare(msg)
        if on_message is not None:
            on_message(msg)
        waiting.append(msg)
        count += 1
        if len(waiting) >= limit:
            await send_waiting()
    await send_waiting()
    return count


@click.command("replay")
@click.argument("infile", type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--out",
    "outfile",
    type=click.Path(path_type=Path, allow_dash=True),
    default=None,
    help="Write the bot's actions as JSON lines here (default: stdout).",
)
def replay_command(infile: Path, outfile: Path | None) -> None:
    """Feed recorded messages (JSON lines) through the whole pipeline and write every action taken."""
    settings = settings_or_exit()
    refuse_real_platforms(settings, "replay")
    with ExitStack() as stack:
        if str(infile) == "-":
            source: IO[str] = sys.stdin
        else:
            try:
                source = stack.enter_context(infile.open(encoding="utf-8"))
            except OSError as exc:
                fail(f"{infile}: cannot read ({exc.strerror})")
        sink: IO[str] = (
            sys.stdout
            if outfile is None or str(outfile) == "-"
            else stack.enter_context(outfile.open("w", encoding="utf-8"))
        )

        def write(item: OutboxItem) -> None:
            sink.write(json.dumps(action_record(item), ensure_ascii=False) + "\n")

        stats = ReplayStats()
        total = _count_lines(infile) if str(infile) != "-" and sys.stderr.isatty() else None
        with _progress_bar(total) as advance:

            def progressed(count: int) -> None:
                sink.flush()
                advance(count)

            async def go() -> tuple[int, int, float, float]:
                async with open_store(settings) as store:
                    await refuse_live_database(store, "replay")
                    if settings.org_file is not None:
                        await import_org(store, settings.org_file)
                    before = await _ticket_count(store)
                    started = time.perf_counter()
                    records = read_records(source, str(infile))
                    count = await replay(settings, store, records, write, stats=stats, progress=progressed)
                    finished = time.perf_counter()
                    ready = stats.started_at if stats.started_at is not None else started
                    return count, await _ticket_count(store) - before, finished - ready, ready - started

            count, opened, elapsed, startup = asyncio.run(go())
        sink.flush()
    rate = count / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"replayed {count} message(s) in {elapsed:.1f} s: {rate:.0f} messages/s, {opened} ticket(s) opened, "
        f"time per message p50 {stats.percentile(0.5) * 1000:.1f} ms, p99 {stats.percentile(0.99) * 1000:.1f} ms "
        f"(clock work {stats.clock_seconds:.1f} s besides; start-up {startup:.1f} s before the first message)",
        err=True,
    )


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as stream:
            return sum(1 for line in stream if line.strip())
    except OSError:
        return None


@contextmanager
def _progress_bar(total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; otherwise nothing is drawn."""
    if not sys.stderr.isatty():
        yield lambda count: None
        return
    columns = (TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("replay", total=total)
        yield lambda count: bar.advance(task, count)


async def _ticket_count(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


def _print_message(names: dict[str, str]) -> Callable[[IncomingMessage], None]:
    days: list[str] = []

    def show(msg: IncomingMessage) -> None:
        day = f"{msg.time:%Y-%m-%d}"
        if days and days[-1] != day:
            click.echo(click.style(f"── {msg.time.year}年{msg.time.month}月{msg.time.day}日 ──", bold=True))
        days.append(day)
        names.setdefault(msg.sender_id, msg.sender_name)  # residents the org does not list, for the replies
        where = "私信 linli" if msg.is_direct else names.get(msg.chat_id, msg.chat_name)
        click.echo(click.style(f"[{msg.time:%H:%M} {where}] {msg.sender_name}：", fg="cyan") + msg.text)

    return show


def _print_action(names: dict[str, str]) -> Callable[[OutboxItem], None]:
    def show(item: OutboxItem) -> None:
        if item.kind == "dm":
            target = f"私信 {names.get(item.recipient or '', item.recipient)}"
        else:
            target = names.get(item.chat_id or "", item.chat_id or "")
        click.echo(click.style(f"    linli → {target}：", fg="green") + item.text.replace("\n", "\n      "))

    return show


_PLACEHOLDER = re.compile(r"#<([^>]+)>")


def _ticket_numbers(store: Store) -> Callable[[IncomingMessage], Awaitable[IncomingMessage]]:
    """The demo script names tickets by the message that opened them (#<demo-002>); fill in the numbers."""

    async def fill(msg: IncomingMessage) -> IncomingMessage:
        wanted = _PLACEHOLDER.findall(msg.text)
        if not wanted:
            return msg
        async with store.sessions() as session:
            rows = await session.execute(
                select(Message.message_id, Message.ticket_id).where(Message.message_id.in_(wanted))
            )
            numbers = dict(rows.all())
        text = _PLACEHOLDER.sub(lambda m: f"#{numbers.get(m.group(1)) or '?'}", msg.text)
        return dataclasses.replace(msg, text=text)

    return fill


async def _names(store: Store) -> dict[str, str]:
    from storage.org_repo import OrgRepo

    async with store.sessions() as session:
        repo = OrgRepo(session)
        names = {g.chat_id: g.name for g in await repo.all_groups()}
        for person in await repo.all_people():
            for identity in person.identities:
                names[identity.user_id] = person.name
    return names


@click.command()
@click.option("--interactive", is_flag=True, help="Type as a resident of a chosen group and see the bot answer.")
@click.option("--web", is_flag=True, help="Afterwards keep the staff desk up on http.host:http.port until Ctrl-C.")
@click.option("--org", "org_file", type=click.Path(path_type=Path), default=EXAMPLE_ORG, show_default=True)
@click.option(
    "--database",
    default=DEMO_DATABASE,
    show_default=True,
    help="The demo's own database (never the configured one unless named here).",
)
def demo(interactive: bool, org_file: Path, web: bool, database: str) -> None:
    """A scripted day in 北江社区's groups on the simulated platform, then the tickets it produced."""
    from bot.cli.tickets import print_ticket_table

    settings = settings_or_exit().model_copy(update={"database_url": database})
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger().setLevel(logging.WARNING)

    async def go() -> None:
        async with open_store(settings) as store:
            await refuse_live_database(store, "demo")
            try:
                await import_org(store, org_file)
            except OrgFileError as exc:
                fail(str(exc))
            names = await _names(store)
            if interactive:
                await _interactive(settings, store, names)
                return
            click.echo(click.style("== 北江社区 · 模拟群聊 ==", bold=True))
            with DEMO_SCRIPT.open(encoding="utf-8") as script:
                await replay(
                    settings,
                    store,
                    read_records(script, str(DEMO_SCRIPT)),
                    _print_action(names),
                    _print_message(names),
                    prepare=_ticket_numbers(store),
                )
            click.echo()
            await print_ticket_table(store, decisions=True)
            if web:
                from bot.cli.desk_demo import serve_desk

                await serve_desk(settings, store)

    asyncio.run(go())


async def _interactive(settings: Settings, store: Store, names: dict[str, str]) -> None:
    from datetime import UTC, datetime

    from storage.org_repo import OrgRepo

    async with store.sessions() as session:
        groups = [g for g in await OrgRepo(session).all_groups() if g.platform in ("sim", "console") and g.unit_id]
    for index, group in enumerate(groups, 1):
        click.echo(f"  {index}. {group.name}")
    choice = click.prompt("选择群（序号）", type=click.IntRange(1, len(groups)), default=1)
    group = groups[choice - 1]
    name = click.prompt("你的称呼", default="街坊")
    sender_id = f"{group.platform}-guest-{name}"
    click.echo("输入消息后回车；Ctrl-D 退出。")
    counter = 0
    loop = asyncio.get_running_loop()
    show = _print_action(names)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if not text.strip():
            continue
        counter += 1
        now = datetime.now(UTC)
        msg = IncomingMessage(
            platform=group.platform,
            chat_id=group.chat_id,
            chat_name=group.name,
            sender_id=sender_id,
            sender_name=name,
            text=text,
            message_id=f"interactive-{now.timestamp():.6f}-{counter}",
            time=now,
        )

        def one(msg: IncomingMessage = msg) -> Iterator[IncomingMessage]:
            yield msg

        await replay(settings, store, one(), show)
