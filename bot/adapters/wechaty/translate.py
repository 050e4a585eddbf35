"""Pure helpers that turn puppet-service payload values into linli's terms; no wechaty import here.

Kept apart from the connection code so they are tested without a puppet and so the core imports on
Pythons where wechaty cannot be installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

MENTION_SEPARATOR = "\u2005"
"""WeChat puts a four-per-em space after an @name; some clients send a plain space instead."""

# puppet-service (wechaty-grpc) MessageType names -> IncomingMessage.content_type
CONTENT_TYPES: dict[str, str] = {
    "MESSAGE_TYPE_TEXT": "text",
    "MESSAGE_TYPE_IMAGE": "image",
    "MESSAGE_TYPE_EMOTICON": "sticker",
    "MESSAGE_TYPE_AUDIO": "voice",
    "MESSAGE_TYPE_VIDEO": "video",
    "MESSAGE_TYPE_ATTACHMENT": "file",
    "MESSAGE_TYPE_URL": "link",
    "MESSAGE_TYPE_MINI_PROGRAM": "miniprogram",
    "MESSAGE_TYPE_CONTACT": "contact_card",
    "MESSAGE_TYPE_LOCATION": "location",
    "MESSAGE_TYPE_CHAT_HISTORY": "chat_history",
    "MESSAGE_TYPE_TRANSFER": "transfer",
    "MESSAGE_TYPE_RED_ENVELOPE": "red_envelope",
    "MESSAGE_TYPE_RECALLED": "recalled",
}

_MILLIS_THRESHOLD = 100_000_000_000
"""Timestamps above this are milliseconds (year 5138 in seconds); providers send either."""


def content_type(type_name: str) -> str:
    """The content type for a puppet MessageType name; unknown kinds are ``"other"``."""
    return CONTENT_TYPES.get(type_name, "other")


def message_time(timestamp: int, now: datetime | None = None) -> datetime:
    """A puppet timestamp (seconds or milliseconds since the epoch) as an aware UTC datetime."""
    if timestamp <= 0:
        return now if now is not None else datetime.now(UTC)
    seconds = timestamp / 1000 if timestamp > _MILLIS_THRESHOLD else float(timestamp)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return now if now is not None else datetime.now(UTC)


def _mention_pattern(name: str) -> re.Pattern[str]:
    return re.compile("@" + re.escape(name) + rf"(?:{MENTION_SEPARATOR}| |$)")


def mentions_name(text: str, name: str) -> bool:
    """True if ``text`` @-mentions ``name`` the way WeChat writes it."""
    return bool(name) and _mention_pattern(name).search(text) is not None


def strip_mentions(text: str, names: Iterable[str]) -> str:
    """Remove ``@name`` (followed by WeChat's separator, a space or the end) for each name.

    Longer names go first so ``@王阿姨`` is not half-removed by a member called ``王``. Unknown @-text is
    left alone: it may be an e-mail address or a mention of someone the puppet cannot resolve.
    """
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = _mention_pattern(name).sub("", text)
    return text.strip()


def clip(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def mention_prefix(names: Iterable[str]) -> str:
    """The visible ``@name`` run WeChat needs before a message that mentions people."""
    shown = [f"@{name}" for name in names if name]
    return MENTION_SEPARATOR.join(shown) + MENTION_SEPARATOR if shown else ""
