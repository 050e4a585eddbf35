"""``linli privacy``: a resident's data — everything linli holds about them, and its erasure. Both are
recorded in the audit log (``audit_log``) with who ran them; the log of an erasure names the person only by
the pseudonym their data now carries."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
from datetime import UTC, datetime
from typing import Any

import click

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from storage.privacy_repo import PrivacyRepo, pseudonym

log = logging.getLogger(__name__)
PERSON_HELP = "An org person id (every identity the org gives them) or platform:user_id (e.g. wechaty:wxid_abc)."


@click.group()
def privacy() -> None:
    """A person's data: export it, erase it."""


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@privacy.command()
@click.option("--person", "subject", required=True, help=PERSON_HELP)
def export(subject: str) -> None:
    """Everything linli holds about one person, as one JSON object on stdout."""
    settings = settings_or_exit()

    async def go() -> dict[str, Any] | None:
        async with open_store(settings) as store, store.sessions.begin() as session:
            repo = PrivacyRepo(session)
            data = await repo.export(subject)
            if data is not None:
                detail = {"messages": len(data["messages"]), "reports": len(data["reports"])}
                await repo.audit(
                    at=datetime.now(UTC), actor=_operator(), action="export", subject=subject, detail=detail
                )
            return data

    data = asyncio.run(go())
    if data is None:
        fail(f"nobody known as {subject!r}", code=1)
    log.info("privacy export of %s by %s", subject, _operator())
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@privacy.command()
@click.option("--person", "subject", required=True, help=PERSON_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(subject: str, yes: bool) -> None:
    """Remove one person's text and identity; their tickets stay, without what they wrote."""
    settings = settings_or_exit()
    if not yes:
        click.confirm(f"Erase everything {subject} wrote and their identity? This cannot be undone", abort=True)

    async def go() -> dict[str, int] | None:
        async with open_store(settings) as store, store.sessions.begin() as session:
            repo = PrivacyRepo(session)
            counts = await repo.erase(subject)
            if counts is not None:
                await repo.audit(
                    at=datetime.now(UTC), actor=_operator(), action="erase", subject=pseudonym(subject), detail=counts
                )
            return counts

    counts = asyncio.run(go())
    if counts is None:
        fail(f"nobody known as {subject!r}", code=1)
    log.info("privacy erasure of %s by %s: %s", pseudonym(subject), _operator(), counts)
    click.echo(json.dumps({"erased": pseudonym(subject), "changed": counts}, ensure_ascii=False))
