"""The path every inbound message takes: store, classify, handle, commit, then hand the outbox a nudge.

One session per message. The raw message is stored first; the handlers' replies become outbox rows in
the same transaction as the tickets they mention, so nobody is told a ticket number that was rolled back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from bot.context import Context
from bot.flood import ReplyGuard
from bot.message import IncomingMessage, NotStored
from bot.outbox import Outbox
from bot.router import Router, dispatch
from config.settings import Settings
from nlp.command import parse_command
from nlp.decision import Classifier, Decision, Domain, Kind
from storage.message_repo import MessageRepo
from storage.models import Message
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


def database_unreachable(exc: BaseException) -> bool:
    """The database is down or the connection broke (not a bad statement): worth waiting and retrying."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError)


@dataclass(frozen=True)
class FeedResult:
    stored: bool
    duplicate: bool = False
    outbox_ids: tuple[int, ...] = ()
    ticket_ids: tuple[int, ...] = ()


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        classifier: Classifier,
        routers: Sequence[Router],
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.classifier = classifier
        self.routers = list(routers)
        self.on_commit = on_commit
        self.outbox = Outbox.of(settings)
        self.guard = ReplyGuard(settings.flood)
        self._lock = asyncio.Lock()

    async def feed(self, msg: IncomingMessage, now: datetime | None = None) -> FeedResult:
        """Process one inbound message; safe to call again with the same message (nothing changes)."""
        now = now or datetime.now(UTC)
        text, truncated = clean_text(msg.text, self.settings.max_message_chars)
        msg = fit_fields(replace(msg, text=text))
        # One message at a time per process keeps SQLite writes from contending with each other.
        async with self._lock:
            try:
                result = await self._patiently(lambda: self._process(msg, truncated, now))
            except Exception as exc:
                if database_unreachable(exc):
                    log.error("database unreachable; message %s:%s not stored", msg.platform, msg.message_id)
                    raise NotStored(f"{msg.platform}:{msg.message_id}: the database is unreachable") from exc
                # Only the message's own unique key makes it a duplicate (another process stored it first);
                # any other integrity error is a handler's failure like any other.
                if isinstance(exc, IntegrityError) and await self._patiently(lambda: self._exists(msg)):
                    log.info("duplicate message %s:%s ignored", msg.platform, msg.message_id)
                    return FeedResult(stored=False, duplicate=True)
                log.exception("handling %s:%s failed; storing the message alone", msg.platform, msg.message_id)
                try:
                    result = await self._patiently(lambda: self._store_only(msg, truncated))
                except Exception as again:
                    if database_unreachable(again):
                        raise NotStored(f"{msg.platform}:{msg.message_id}: the database is unreachable") from again
                    raise
        if result.outbox_ids and self.on_commit is not None:
            self.on_commit()
        return result

    async def _patiently(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` again while the database is unreachable, for up to ``database_retry_seconds``."""
        async for retry in AsyncRetrying(
            retry=retry_if_exception(database_unreachable),
            wait=wait_exponential(multiplier=0.5, max=10),
            stop=stop_after_delay(self.settings.database_retry_seconds),
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

    async def _exists(self, msg: IncomingMessage) -> bool:
        async with self.sessions() as session:
            return await MessageRepo(session).exists(msg.platform, msg.message_id)

    async def _store_only(self, msg: IncomingMessage, truncated: bool) -> FeedResult:
        try:
            async with self.sessions.begin() as session:
                await self._store(session, msg, truncated)
        except IntegrityError:
            return FeedResult(stored=False, duplicate=True)
        return FeedResult(stored=True)

    async def _store(self, session: AsyncSession, msg: IncomingMessage, truncated: bool) -> Message:
        if truncated:
            log.warning("message %s:%s truncated to %d characters", msg.platform, msg.message_id, len(msg.text))
        return await MessageRepo(session).add(
            platform=msg.platform,
            message_id=msg.message_id,
            chat_id=msg.chat_id,
            chat_name=msg.chat_name,
            sender_id=msg.sender_id,
            sender_name=msg.sender_name,
            text=msg.text,
            truncated=truncated,
            content_type=msg.content_type,
            sent_at=msg.time,
        )

    async def _process(self, msg: IncomingMessage, truncated: bool, now: datetime) -> FeedResult:
        async with self.sessions.begin() as session:
            messages = MessageRepo(session)
            if await messages.exists(msg.platform, msg.message_id):
                log.debug("duplicate message %s:%s ignored", msg.platform, msg.message_id)
                return FeedResult(stored=False, duplicate=True)
            row = await self._store(session, msg, truncated)
            org = OrgRepo(session)
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
            decision = self.classify(msg)
            row.kind, row.urgent, row.domain = decision.kind.value, decision.urgent, decision.domain.value
            row.confidence, row.rules = decision.confidence, list(decision.rules)
            sender = await org.person_by_identity(msg.platform, msg.sender_id)
            ctx = Context(
                session=session,
                settings=self.settings,
                now=now,
                stored=row,
                decision=decision,
                group=group,
                sender=sender,
                command=parse_command(msg.text) if msg.content_type == "text" else None,
            )
            replies = self.guard.screen(msg, decision, await dispatch(self.routers, msg, ctx) or [], now)
            unknown_group = not msg.is_direct and (ctx.group is None or ctx.group.unit_id is None)
            if unknown_group and not self.settings.retention.keep_unknown_group_text:
                row.text = ""  # chatter from a group the org does not know is not kept in full
            await session.flush()
            ticket_id = row.ticket_id
            ids = await self.outbox.emit(
                session,
                replies,
                now=now,
                ticket_id=ticket_id,
                in_reply_to=msg.message_id,
                urgent=decision.urgent or decision.check,
            )
            return FeedResult(
                stored=True,
                outbox_ids=tuple(ids),
                ticket_ids=(ticket_id,) if ticket_id is not None else (),
            )

    def classify(self, msg: IncomingMessage) -> Decision:
        if msg.content_type != "text" or not msg.text.strip():
            return NOISE
        try:
            return self.classifier.classify(msg.text[: self.settings.nlp.max_text_chars])
        except Exception:
            log.exception("classifier failed on %s:%s; treating it as noise", msg.platform, msg.message_id)
            return NOISE
