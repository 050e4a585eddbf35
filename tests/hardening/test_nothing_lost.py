"""Only the message-id unique violation counts as a duplicate; any other integrity error in a handler
still leaves the message stored, and the store refusing for good says so (NotStored)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.app import Store
from bot.context import Context
from bot.live_classifier import LiveClassifier
from bot.message import IncomingMessage, NotStored
from bot.pipeline import Pipeline
from bot.router import Reply, Router
from config.settings import Settings
from storage.models import Message, PointEntry
from tests.conftest import Chat


def _pipeline(settings: Settings, store: Store, router: Router) -> Pipeline:
    return Pipeline(settings, store.sessions, LiveClassifier(settings.nlp), [router])


async def _stored(store: Store) -> list[str]:
    async with store.sessions() as session:
        return list((await session.scalars(select(Message.message_id))).all())


async def test_an_integrity_error_inside_a_handler_is_not_taken_for_a_duplicate(
    settings: Settings, store: Store
) -> None:
    router = Router("clumsy")

    @router.message()
    async def twice(msg: IncomingMessage, ctx: Context) -> Reply:
        for _ in range(2):  # one points entry per person, ticket and reason: the second insert violates it
            ctx.session.add(PointEntry(person_id="p-li", ticket_id=None, reason="r", points=1, at=msg.time))
        await ctx.session.flush()
        return []

    result = await _pipeline(settings, store, router).feed(Chat("sim-sdc-3").msg("r-1", "你好"))
    assert not result.duplicate
    assert result.stored
    assert await _stored(store) == ["sim-sdc-3-1"]


async def test_a_real_duplicate_is_still_one(settings: Settings, store: Store) -> None:
    pipeline = _pipeline(settings, store, Router("empty"))
    msg = Chat("sim-sdc-3").msg("r-1", "你好")
    assert (await pipeline.feed(msg)).stored
    assert (await pipeline.feed(msg)).duplicate
    assert await _stored(store) == ["sim-sdc-3-1"]


async def test_a_store_that_stays_unreachable_raises_not_stored(settings: Settings, store: Store) -> None:
    from storage.engine import create_engine, session_factory

    settings.database_retry_seconds = 0
    pipeline = _pipeline(settings, store, Router("empty"))
    engine = create_engine("postgresql+asyncpg://linli@127.0.0.1:1/linli")  # nothing listens on port 1
    pipeline.sessions = session_factory(engine)
    try:
        with pytest.raises(NotStored):
            await pipeline.feed(Chat("sim-sdc-3").msg("r-1", "你好"))
    finally:
        await engine.dispose()


async def test_database_errors_never_carry_what_residents_wrote(settings: Settings, store: Store) -> None:
    from datetime import UTC, datetime

    from storage.message_repo import MessageRepo

    row = {
        "platform": "sim",
        "message_id": "m-1",
        "chat_id": "c",
        "chat_name": "",
        "sender_id": "s",
        "sender_name": "",
        "text": "家里有人生病了，电话13812345678",
        "truncated": False,
        "content_type": "text",
        "sent_at": datetime(2026, 11, 16, tzinfo=UTC),
    }
    async with store.sessions.begin() as session:
        await MessageRepo(session).add(**row)
    with pytest.raises(IntegrityError) as caught:
        async with store.sessions.begin() as session:
            await MessageRepo(session).add(**row)
    assert "13812345678" not in str(caught.value)
    assert "生病" not in str(caught.value)
