"""The normalised message types every adapter translates to and from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Platform(StrEnum):
    SIM = "sim"
    CONSOLE = "console"
    WECHATY = "wechaty"
    WECOM = "wecom"


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
    mention_self: bool = False
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
    kind: str = field(default="say", init=False)


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """Send a message to one person."""

    platform: str
    to: str
    text: str
    kind: str = field(default="dm", init=False)


@dataclass(frozen=True, slots=True)
class SendImage:
    """Send an image (a chart) into a group chat or to a person."""

    platform: str
    chat_id: str
    path: str
    caption: str = ""
    kind: str = field(default="image", init=False)


OutgoingMessage = Say | DirectMessage | SendImage
