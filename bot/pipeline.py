"""The path every inbound message takes: classify, store, handle, commit, then hand the outbox a nudge.

Classification happens before the message waits for the database. One transaction holds the messages
waiting at that moment (one, unless a backlog has formed); each message is stored first and its
handlers' replies become outbox rows in the same transaction as the tickets they mention, so nobody is
told a ticket number that was rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential

from bot.context import Context
from bot.flood import ReplyGuard
from bot.health import DatabaseHealth, database_unreachable
from bot.message import IncomingMessage, NotStored, OutgoingMessage
from bot.outbox import Outbox
from bot.router import Router, dispatch
from config.settings import Settings
from nlp.command import parse_command
from nlp.decision import Classifier, Decision, Domain, Kind
from storage.message_repo import MessageRepo, MessageRow
from storage.org_repo import OrgRepo

log = logging.getLogger(__name__)
T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NOISE = Decision(Kind.NOISE, False, Domain.OTHER, 1.0, ("pipeline:no-text",))


ID_CHARS = 128
CHAT_NAME_CHARS = 200
SENDER_NAME_CHARS = 100


def fit_id(value: str) -> str:
    """Ids longer than the column keep a readable head and a digest of the whole, so they stay unique."""
    if len(value) <= ID_CHARS:
        return value
    return value[: ID_CHARS - 41] + "#" + hashlib.sha1(value.encode("utf-8", "replace")).hexdigest()


def fit_fields(msg: IncomingMessage) -> IncomingMessage:
    """Make every field fit its column and be valid text, whatever the platform delivered."""
    return replace(
        msg,
        message_id=fit_id(msg.message_id),
        chat_id=fit_id(msg.chat_id),
        sender_id=fit_id(msg.sender_id),
        chat_name=clean_text(msg.chat_name, CHAT_NAME_CHARS)[0],
        sender_name=clean_text(msg.sender_name, SENDER_NAME_CHARS)[0],
    )


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """Drop control characters and lone surrogates; cut to ``limit`` characters. Returns (text, truncated)."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        return text[:limit], True
    return text, False


@dataclass(frozen=True)
class FeedResult:
    stored: bool
    duplicate: bool = False
    outbox_ids: tuple[int, ...] = ()
    ticket_ids: tuple[int, ...] = ()


DUPLICATE = FeedResult(stored=False, duplicate=True)


@dataclass
class Waiting:
    """A message cleaned and classified, waiting for its turn in a transaction."""

    msg: IncomingMessage
    truncated: bool
    now: datetime
    decision: Decision
    result: asyncio.Future[FeedResult]
    screened: tuple[tuple[OutgoingMessage, ...], list[OutgoingMessage]] | None = None
    """The handlers' replies and what the flood guard let through, kept so that a batch taken again one
    message at a time does not count the same replies twice."""


class Pipeline:
    """Messages wait in line; whoever holds the lock takes everything waiting (up to ``pipeline.batch_max``)
    into one transaction, in order. Each caller returns once the transaction holding its message committed,
    so an acknowledgement never comes before its own commit. A batch that fails as a whole is rolled back
    and its messages are taken again one at a time: nothing is lost or doubled."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        classifier: Classifier,
        routers: Sequence[Router],
        on_commit: Callable[[], None] | None = None,
        health: DatabaseHealth | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.classifier = classifier
        self.routers = list(routers)
        self.on_commit = on_commit
        self.health = health or DatabaseHealth()
        self.outbox = Outbox.of(settings)
        self.guard = ReplyGuard(settings.flood)
        self.batch_max = settings.pipeline.batch_max
        self._lock = asyncio.Lock()
        self._line: deque[Waiting] = deque()

    async def feed(self, msg: IncomingMessage, now: datetime | None = None) -> FeedResult:
        """Process one inbound message; safe to call again with the same message (nothing changes)."""
        [result] = await self.feed_many([(msg, now)])
        return result

    async def feed_many(self, items: Sequence[tuple[IncomingMessage, datetime | None]]) -> list[FeedResult]:
        """Process messages in order, as many to a transaction as are waiting; one result per message.

        Classification happens here, before the messages wait for the lock and the transaction."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        mine = []
        for msg, now in items:
            text, truncated = clean_text(msg.text, self.settings.max_message_chars)
            msg = fit_fields(replace(msg, text=text))
            mine.append(Waiting(msg, truncated, now or datetime.now(UTC), self.classify(msg), loop.create_future()))
        self._line.extend(mine)
        try:
            while not mine[-1].result.done():
                async with self._lock:
                    if mine[-1].result.done():
                        break
                    batch = [self._line.popleft() for _ in range(min(self.batch_max, len(self._line)))]
                    if not batch:
                        raise RuntimeError("pipeline: a message is neither waiting nor settled")
                    try:
                        await self._run(batch)
                    except BaseException:
                        # Interrupted mid-batch (cancelled, or a bug): nothing of it committed. What is not
                        # settled goes back to the head of the line for the next caller.
                        self._line.extendleft(reversed([w for w in batch if not w.result.done()]))
                        raise
        finally:
            for waiting in mine:  # cancelled while waiting: leave nothing behind in the line
                if not waiting.result.done():
                    with contextlib.suppress(ValueError):
                        self._line.remove(waiting)
                    waiting.result.cancel()
        return [waiting.result.result() for waiting in mine]

    async def _run(self, batch: list[Waiting]) -> None:
        """Process ``batch`` in one transaction and settle every message's future."""
        try:
            results = await self._patiently(lambda: self._process(batch))
        except Exception as exc:
            if database_unreachable(exc):
                self.health.lost(exc)
                for waiting in batch:
                    msg = waiting.msg
                    log.error("database unreachable; message %s:%s not stored", msg.platform, msg.message_id)
                    failure = NotStored(f"{msg.platform}:{msg.message_id}: the database is unreachable")
                    failure.__cause__ = exc
                    waiting.result.set_exception(failure)
                return
            if len(batch) > 1:
                log.info("a batch of %d messages failed (%s); taking them one at a time", len(batch), exc)
                for waiting in batch:
                    await self._run([waiting])
                return
            try:
                results = [await self._alone(batch[0], exc)]
            except Exception as again:
                if not database_unreachable(again):
                    raise
                self.health.lost(again)
                msg = batch[0].msg
                failure = NotStored(f"{msg.platform}:{msg.message_id}: the database is unreachable")
                failure.__cause__ = again
                batch[0].result.set_exception(failure)
                return
        self.health.back()
        for waiting, result in zip(batch, results, strict=True):
            waiting.result.set_result(result)
        if any(r.outbox_ids for r in results) and self.on_commit is not None:
            self.on_commit()

    async def _alone(self, waiting: Waiting, exc: Exception) -> FeedResult:
        """One message whose handling failed: a duplicate, or stored without its replies."""
        msg = waiting.msg
        # Only the message's own unique key makes it a duplicate (another process stored it first); any
        # other integrity error is a handler's failure like any other.
        if isinstance(exc, IntegrityError) and await self._patiently(lambda: self._exists(msg)):
            log.info("duplicate message %s:%s ignored", msg.platform, msg.message_id)
            return DUPLICATE
        log.error("handling %s:%s failed; storing the message alone", msg.platform, msg.message_id, exc_info=exc)
        try:
            return await self._patiently(lambda: self._store_only(waiting))
        except Exception as again:
            if database_unreachable(again):
                raise
            log.exception("storing %s:%s alone failed too", msg.platform, msg.message_id)
            return FeedResult(stored=False)

    async def _exists(self, msg: IncomingMessage) -> bool:
        async with self.sessions() as session:
            return await MessageRepo(session).exists(msg.platform, msg.message_id)

    async def _patiently(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` again while the database is unreachable, for up to ``database_retry_seconds``
        (once only while the database is known to be gone: see ``bot.health``)."""
        async for retry in AsyncRetrying(
            retry=retry_if_exception(database_unreachable),
            wait=wait_exponential(multiplier=0.5, max=10),
            stop=stop_after_delay(self.settings.database_retry_seconds) if self.health.ok else stop_after_attempt(1),
            before_sleep=lambda state: log.warning(
                "database unreachable (%s); retrying (attempt %d)",
                state.outcome.exception() if state.outcome else "?",
                state.attempt_number,
            ),
            reraise=True,
        ):
            with retry:
                return await attempt()
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _store_only(self, waiting: Waiting) -> FeedResult:
        try:
            async with self.sessions.begin() as session:
                await MessageRepo(session).insert([self._row(waiting)])
        except IntegrityError:
            return DUPLICATE
        return FeedResult(stored=True)

    @staticmethod
    def _row(waiting: Waiting) -> MessageRow:
        """The raw message with its decision, as it will be stored."""
        msg, decision = waiting.msg, waiting.decision
        if waiting.truncated:
            log.warning("message %s:%s truncated to %d characters", msg.platform, msg.message_id, len(msg.text))
        return MessageRow(
            platform=msg.platform,
            message_id=msg.message_id,
            chat_id=msg.chat_id,
            chat_name=msg.chat_name,
            sender_id=msg.sender_id,
            sender_name=msg.sender_name,
            text=msg.text,
            truncated=waiting.truncated,
            content_type=msg.content_type,
            sent_at=msg.time,
            kind=decision.kind.value,
            urgent=decision.urgent,
            domain=decision.domain.value,
            confidence=decision.confidence,
            rules=list(decision.rules),
        )

    async def _process(self, batch: list[Waiting]) -> list[FeedResult]:
        async with self.sessions.begin() as session:
            org = OrgRepo(session)
            await org.warm(
                {(w.msg.platform, w.msg.chat_id) for w in batch if not w.msg.is_direct},
                {(w.msg.platform, w.msg.sender_id) for w in batch},
            )
            seen = await MessageRepo(session).existing([(w.msg.platform, w.msg.message_id) for w in batch])
            handled: list[tuple[int | None, int] | None] = []  # None: a duplicate; else (ticket, outbox rows made)
            stored: list[MessageRow] = []
            rows: list[dict[str, Any]] = []
            for waiting in batch:
                msg = waiting.msg
                if (msg.platform, msg.message_id) in seen:
                    log.debug("duplicate message %s:%s ignored", msg.platform, msg.message_id)
                    handled.append(None)
                    continue
                seen.add((msg.platform, msg.message_id))
                row = self._row(waiting)
                replies = await self._handle(session, org, waiting, row)
                stored.append(row)
                made = self.outbox.rows(
                    replies,
                    now=waiting.now,
                    ticket_id=row.ticket_id,
                    in_reply_to=msg.message_id,
                    urgent=waiting.decision.urgent or waiting.decision.check,
                    sender=(msg.platform, msg.sender_id),
                )
                rows.extend(made)
                handled.append((row.ticket_id, len(made)))
            await MessageRepo(session).insert(stored)
            await self.outbox.route(session, rows)
            ids = iter(await self.outbox.insert(session, rows))
        results = []
        for outcome in handled:
            if outcome is None:
                results.append(DUPLICATE)
                continue
            ticket_id, written = outcome
            outbox_ids = tuple(next(ids) for _ in range(written))
            results.append(FeedResult(True, False, outbox_ids, (ticket_id,) if ticket_id is not None else ()))
        return results

    async def _handle(
        self, session: AsyncSession, org: OrgRepo, waiting: Waiting, row: MessageRow
    ) -> list[OutgoingMessage]:
        """Run the handlers on one message; its replies (``row.ticket_id``: the ticket it joined or opened)."""
        msg, now, decision = waiting.msg, waiting.now, waiting.decision
        group = None
        if not msg.is_direct:
            group = await org.group(msg.platform, msg.chat_id)
            if group is None:
                if await org.note_unknown_group(msg.platform, msg.chat_id, msg.chat_name, now):
                    log.warning(
                        "group %s:%s (%s) is not in the org: its messages are stored but open no tickets; "
                        "bind it in the org file or with 绑定",
                        msg.platform,
                        msg.chat_id,
                        msg.chat_name,
                    )
                group = await org.group(msg.platform, msg.chat_id)
            instance = self.settings.instance
            if instance and group is not None and group.account != instance:
                group.account = instance  # what is said in this group goes out through this process's account
        ctx = Context(
            session=session,
            settings=self.settings,
            now=now,
            stored=row,
            decision=decision,
            group=group,
            sender=await org.person_by_identity(msg.platform, msg.sender_id),
            command=parse_command(msg.text) if msg.content_type == "text" else None,
        )
        replies = tuple(await dispatch(self.routers, msg, ctx) or [])
        if waiting.screened is None or waiting.screened[0] != replies:
            waiting.screened = (replies, self.guard.screen(msg, decision, replies, now))
        unknown_group = not msg.is_direct and (ctx.group is None or ctx.group.unit_id is None)
        if unknown_group and not self.settings.retention.keep_unknown_group_text:
            row.text = ""  # chatter from a group the org does not know is not kept in full
        return list(waiting.screened[1])

    def classify(self, msg: IncomingMessage) -> Decision:
        if msg.content_type != "text" or not msg.text.strip():
            return NOISE
        try:
            return self.classifier.classify(msg.text[: self.settings.nlp.max_text_chars])
        except Exception:
            log.exception("classifier failed on %s:%s; treating it as noise", msg.platform, msg.message_id)
            return NOISE
