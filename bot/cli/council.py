"""``linli council``: the 党群议事会 from the command line — the agenda, taking a matter to the council,
recording a step of 四议两公开, an item's record, and a vote's tally recounted from the stored ballots.

Changes run as jobs through the kernel's job runner, like ``linli tickets assign``: the same actions as the
chat commands, in one transaction, and what they announce goes out through the outbox.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from bot.cli.deadlines import parse_instant
from bot.context import JobContext
from bot.job_runner import JobRunner
from bot.jobs import JobOutcome
from bot.texts import chat as chat_texts
from bot.texts import suggestions as suggestion_texts
from bot.texts import votes as vote_texts
from config.council import STAGES, Stage
from handlers import council_items
from handlers.council import agenda, agenda_text, next_meeting
from handlers.council_items import CouncilOutcome, CouncilRefusal
from handlers.tally import recount
from storage.models import Person, Unit
from storage.suggestion_repo import SuggestionRepo
from storage.vote_repo import VoteRepo

_SUGGESTION = re.compile(r"^[#]?[Ss](\d+)$")


@click.group()
def council() -> None:
    """The 党群议事会 (residents' council): items through 四议两公开, votes, the agenda."""


@council.command("agenda")
@click.option("--community", "community_id", required=True)
@click.option("--now", "now_text", default=None, help="As if the clock read this ISO 8601 instant.")
@click.option("--json", "as_json", is_flag=True, help="Print the agenda items as JSON.")
def council_agenda(community_id: str, now_text: str | None, as_json: bool) -> None:
    """The council's items (with the step each has reached) and the major tickets awaiting the next meeting."""
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)
    now = parse_instant(now_text, settings.timezone) or datetime.now(UTC)

    async def go() -> tuple[str, list[dict[str, Any]]]:
        async with open_store(settings) as store, store.sessions() as session:
            community = await session.get(Unit, community_id)
            if community is None or community.parent_id is not None:
                fail(f"{community_id!r} is not a community in the org")
                raise SystemExit(2)
            meeting = next_meeting(settings, now)
            items = await agenda(session, settings, community_id)
            rows = [{**asdict(i), "opened_at": i.opened_at.isoformat()} for i in items]
            return agenda_text(community.name, meeting, items, tz), rows

    text, rows = asyncio.run(go())
    click.echo(json.dumps(rows, ensure_ascii=False) if as_json else text)


CouncilAction = Callable[[JobContext, Person | None], Awaitable[CouncilOutcome]]


def _run(describe: str, by: str | None, act: CouncilAction) -> None:
    """Run ``act`` as a job (one transaction, its messages to the outbox); a refusal is printed, exit 1."""
    settings = settings_or_exit()

    async def job(ctx: JobContext) -> JobOutcome:
        person = None
        if by is not None:
            person = await ctx.org.person(by)
            if person is None or not person.active:
                return JobOutcome(report=[(False, f"unknown person '{by}'")])
        try:
            outcome = await act(ctx, person)
        except CouncilRefusal as refusal:
            return JobOutcome(report=[(False, refusal.text)])
        return JobOutcome(messages=outcome.messages, report=[(True, outcome.text)])

    async def go() -> list[Any]:
        async with open_store(settings) as store:
            return await JobRunner(store.sessions, settings).run(job, datetime.now(UTC), name=f"council {describe}")

    [(done, said)] = asyncio.run(go())
    if not done:
        fail(said, code=1)
    click.echo(said)


@council.command("add")
@click.argument("number")
@click.option("--by", "by", default=None, help="The person (id) taking it to the council; default: staff.")
def add(number: str, by: str | None) -> None:
    """Take ticket NUMBER (12) or suggestion S3 to the council, as 上会 does in chat."""
    suggestion = _SUGGESTION.match(number.strip())
    if suggestion is None and not number.strip().lstrip("#").isdigit():
        fail(f"{number!r} is neither a ticket number (12) nor a suggestion (S3)")

    async def act(ctx: JobContext, person: Person | None) -> CouncilOutcome:
        if suggestion is not None:
            found = await SuggestionRepo(ctx.session).get(int(suggestion.group(1)))
            if found is None:
                raise CouncilRefusal(suggestion_texts.unknown(f"#S{suggestion.group(1)}"))
            return await council_items.add_suggestion(ctx, found, by=person, at=ctx.now)
        ticket = await ctx.tickets.get(int(number.strip().lstrip("#")), for_update=True)
        if ticket is None:
            raise CouncilRefusal(chat_texts.not_found(int(number.strip().lstrip("#"))))
        return await council_items.add_ticket(ctx, ticket, by=person, at=ctx.now)

    _run("add", by, act)


@council.command("record")
@click.argument("number", type=int)
@click.argument("stage", type=click.Choice([s.value for s in STAGES]))
@click.option("--text", default="", help="The proposal, minutes, resolution or result.")
@click.option("--by", "by", default=None, help="Who records it (person id); checked against council.may_record.")
def record(number: int, stage: str, text: str, by: str | None) -> None:
    """Record STAGE of 四议两公开 for ticket NUMBER's item (in order; publishing posts in every group)."""

    async def act(ctx: JobContext, person: Person | None) -> CouncilOutcome:
        ticket = await ctx.tickets.get(number, for_update=True)
        if ticket is None:
            raise CouncilRefusal(chat_texts.not_found(number))
        return await council_items.record(ctx, ticket, Stage(stage), by=person, text=text, at=ctx.now)

    _run(f"record {stage}", by, act)


@council.command("show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the item, its steps and its votes.")
def show(number: int, as_json: bool) -> None:
    """The record of ticket NUMBER's council item: every step (who, when, what) and every vote."""
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)

    async def go() -> dict[str, Any] | None:
        async with open_store(settings) as store, store.sessions() as session:
            return await council_items.describe(session, number, tz)

    found = asyncio.run(go())
    if found is None:
        fail(f"#{number} is not a council item", code=1)
        return
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    click.echo(f"#{found['ticket']}「{found['title']}」（{found['unit']}）：{found['progress']}")
    for step in found["steps"]:
        click.echo(f"  {step['at'][:16]} {step['title']}  {step['by_name']}：{step['text']}")
    for vote in found["votes"]:
        counted = vote["announced"] or vote["recount"]
        state = "已截止" if vote["closed_at"] else f"{vote['deadline'][:16]} 截止"
        click.echo(
            f"  户表决「{vote['title']}」（{state}）：同意 {counted['agree']}，反对 {counted['oppose']}，"
            f"弃权 {counted['abstain']}，应参加 {vote['eligible'] if vote['eligible'] is not None else '—'} 户；"
            f"{vote['rule']['text']}"
        )


@council.command("vote")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the tally recounted and the one announced.")
@click.option("--ballots", is_flag=True, help="List every ballot (who voted for which household, and how): the audit.")
def vote(number: int, as_json: bool, ballots: bool) -> None:
    """Recount ticket NUMBER's latest vote from the stored ballots (each household's last ballot counts)."""
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)

    async def go() -> dict[str, Any] | None:
        async with open_store(settings) as store, store.sessions() as session:
            repo = VoteRepo(session)
            found = await repo.latest(number)
            if found is None:
                return None
            counted = await recount(session, found)
            result: dict[str, Any] = {
                "ticket": number,
                "vote": found.id,
                "title": found.title,
                "deadline": found.deadline.astimezone(tz).isoformat(),
                "closed": found.closed_at is not None,
                "recount": counted.as_json(),
                "announced": found.result,
                "matches_announced": found.result is None or found.result == counted.as_json(),
            }
            if ballots:
                result["ballots"] = [
                    {
                        "household": b.household_id,
                        "choice": b.choice,
                        "platform": b.platform,
                        "sender": b.sender_id,
                        "name": b.sender_name,
                        "at": b.at.astimezone(tz).isoformat(),
                    }
                    for b in await repo.ballots(found.id)
                ]
            return result

    found = asyncio.run(go())
    if found is None:
        fail(f"#{number} has no vote", code=1)
        return
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    counted = found["recount"]
    figures = vote_texts.Figures(
        counted["agree"], counted["oppose"], counted["abstain"], counted["eligible"], counted["passed"], counted["rule"]
    )
    deadline = datetime.fromisoformat(found["deadline"])
    click.echo(vote_texts.count(number, found["title"], figures, deadline, final=found["closed"]))
    if not found["matches_announced"]:
        click.echo(vote_texts.recount_differs(), err=True)
    for ballot in found.get("ballots", []):
        when, household, choice = ballot["at"][:16], ballot["household"], ballot["choice"]
        click.echo(f"  {when} {household} {choice} {ballot['name']}（{ballot['sender']}）")
