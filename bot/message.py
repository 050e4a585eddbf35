"""The normalised message types every adapter translates to and from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Topic(StrEnum):
    REPLY = "reply"
    """An answer or acknowledgement to whoever just wrote, or an announcement in the ticket's group."""
    NOTICE = "notice"
    """Telling someone on the grid about a ticket: a new task, a transfer, an escalation by hand."""
    REMIND = "remind"
    ESCALATE = "escalate"
    DIGEST = "digest"
    AGENDA = "agenda"


class Platform(StrEnum):
    SIM = "sim"
    CONSOLE = "console"
    WECHATY = "wechaty"
    WECOM = "wecom"
    OPEN311 = "open311"
    """Reports submitted by other systems through /open311/v2; answered by polling, not pushed."""


DIRECT_CHAT = "dm"
"""The chat id of a one-to-one conversation with the bot."""


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One message as linli sees it, whatever platform it came from."""

    platform: str
    chat_id: str
    chat_name: str
    sender_id: str
    sender_name: str
    text: str
    message_id: str
    time: datetime
    mentions: tuple[str, ...] = ()
    content_type: str = "text"

    @property
    def is_direct(self) -> bool:
        return self.chat_id == DIRECT_CHAT


@dataclass(frozen=True, slots=True)
class Say:
    """Say something in a group chat, @-mentioning some of its members."""

    platform: str
    chat_id: str
    text: str
    mentions: tuple[str, ...] = ()
    ticket: int | None = None
    topic: Topic = Topic.REPLY
    hold: bool = False
    kind: str = field(default="say", init=False)


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """Send a message to one person."""

    platform: str
    to: str
    text: str
    ticket: int | None = None
    topic: Topic = Topic.REPLY
    hold: bool = False
    kind: str = field(default="dm", init=False)


@dataclass(frozen=True, slots=True)
class SendImage:
    """Send an image (a chart) into a group chat or to a person."""

    platform: str
    chat_id: str
    path: str
    caption: str = ""
    ticket: int | None = None
    topic: Topic = Topic.REPLY
    hold: bool = False
    kind: str = field(default="image", init=False)


OutgoingMessage = Say | DirectMessage | SendImage
"""What handlers and jobs return. Besides where and what, each says:

``ticket``: the ticket it is about (None: the one the inbound message joined, if any);
``topic``: what kind of message it is (replies, notices to the grid, reminders…), for the outbox's
bookkeeping: a held reminder is withdrawn by topic when the ticket moves on first;
``hold``: whether the quiet hours may hold it until morning. Answers to the person who just wrote and
anything urgent are never held; notices, reminders, digests that can wait are.
"""


class NotStored(Exception):
    """The core could not store an inbound message (its database is unreachable): the adapter must not
    acknowledge it and should offer it again later."""
