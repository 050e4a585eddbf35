"""``linli suggestions``: the 楼长信箱 — every suggestion, who it went to, and the answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.app import open_store
from bot.cli.common import settings_or_exit
from bot.texts import suggestions as texts
from storage.suggestion_repo import SuggestionRepo


@click.command("suggestions")
@click.option("--community", help="Only this community (id).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of suggestions.")
def suggestions(community: str | None, as_json: bool) -> None:
    """Suggestions to the 楼长信箱, oldest first. The sender of an anonymous one is shown only if
    ``council.suggestions.committee_sees_anonymous`` allows it."""
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)
    reveal = settings.council.suggestions.committee_sees_anonymous

    async def go() -> list[dict[str, Any]]:
        async with open_store(settings) as store, store.sessions() as session:
            found = await SuggestionRepo(session).list(community)
        rows = []
        for s in found:
            hidden = s.anonymous and not reveal
            rows.append(
                {
                    "id": f"S{s.id}",
                    "community": s.community_id,
                    "unit": s.unit_id,
                    "anonymous": s.anonymous,
                    "sender": None if hidden else {"platform": s.platform, "id": s.sender_id, "name": s.sender_name},
                    "text": s.text,
                    "domain": s.domain,
                    "at": s.at.astimezone(tz).isoformat(),
                    "due": s.due_at.astimezone(tz).isoformat(),
                    "to": s.leaders,
                    "answer": s.answer,
                    "answered_at": s.answered_at.astimezone(tz).isoformat() if s.answered_at else None,
                    "answered_by": s.answered_by,
                }
            )
        return rows

    rows = asyncio.run(go())
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        sender = texts.ANONYMOUS if row["sender"] is None else row["sender"]["name"] or row["sender"]["id"]
        answer = f" → {row['answer']}" if row["answer"] else f"（待回复，{row['due'][:10]} 前）"
        click.echo(f"#{row['id']} {row['at'][:16]} {row['unit'] or '-'} {sender}：{row['text']}{answer}")
