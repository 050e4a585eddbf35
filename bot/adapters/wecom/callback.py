"""Translation of decrypted callback payloads into linli's ``IncomingMessage``.

Two shapes arrive:

* a self-built app (自建应用) posts XML; only messages a member sends to the app's own one-to-one
  conversation, plus events. They become direct messages (``chat_id == DIRECT_CHAT``).
* a 智能机器人 (AI bot) posts JSON; in groups only messages that @-mention it, in a one-to-one chat
  everything. Group messages keep WeCom's ``chatid`` as the chat id.

This module is pure: no I/O, no clock of its own.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.adapters.wecom.crypto import CryptoErrorCode, WeComCryptoError, parse_xml
from bot.message import DIRECT_CHAT, IncomingMessage, Platform

PLATFORM = Platform.WECOM.value
MENTION_SPACE = " \u2005\u00a0\t"
"""WeCom separates an @-mention from the following text with U+2005 (four-per-em space) or a space."""


@dataclass(frozen=True, slots=True)
class AibotMessage:
    """A translated AI-bot message plus what is needed to answer it."""

    message: IncomingMessage
    aibot_id: str
    response_url: str


class MalformedPayload(WeComCryptoError):
    """Decrypted fine but is not the payload WeCom documents."""

    def __init__(self, detail: str, *, json_flavour: bool = False) -> None:
        super().__init__(CryptoErrorCode.ParseXml_Error, detail, json_flavour=json_flavour)


def strip_mention(text: str, bot_name: str = "") -> str:
    """Remove the @-mention of the bot: every ``@<bot_name>`` if the name is known, else a leading one."""
    if bot_name:
        pattern = re.compile("@" + re.escape(bot_name) + f"[{MENTION_SPACE}]?")
        return pattern.sub("", text).strip(MENTION_SPACE + "\n")
    stripped = text.lstrip(MENTION_SPACE)
    if stripped.startswith("@"):
        match = re.match(f"@[^{MENTION_SPACE}\n]*[{MENTION_SPACE}]?", stripped)
        if match:
            stripped = stripped[match.end() :]
    return stripped.strip(MENTION_SPACE + "\n")


# -- self-built app (XML) -----------------------------------------------------------------------


def _text(root: Any, tag: str) -> str:
    node = root.find(tag)
    return (node.text or "").strip() if node is not None else ""


def parse_app_message(plaintext: bytes, *, agent_id: int = 0) -> IncomingMessage | None:
    """An app callback's XML → a direct ``IncomingMessage``; ``None`` for events and other agents."""
    root = parse_xml(plaintext)
    msg_type = _text(root, "MsgType")
    sender = _text(root, "FromUserName")
    if not msg_type or not sender:
        raise MalformedPayload("app message without MsgType or FromUserName")
    msg_id = _text(root, "MsgId")
    if msg_type == "event" or not msg_id:
        return None
    agent = _text(root, "AgentID")
    if agent_id and agent and agent != str(agent_id):
        return None
    try:
        created = datetime.fromtimestamp(int(_text(root, "CreateTime")), tz=UTC)
    except ValueError as exc:
        raise MalformedPayload("CreateTime is not an integer") from exc
    if msg_type == "text":
        text = _text(root, "Content")
    elif msg_type == "location":
        text = _text(root, "Label")
    elif msg_type == "link":
        text = " ".join(part for part in (_text(root, "Title"), _text(root, "Url")) if part)
    else:
        text = ""
    return IncomingMessage(
        platform=PLATFORM,
        chat_id=DIRECT_CHAT,
        chat_name="",
        sender_id=sender,
        sender_name=sender,
        text=text,
        message_id=f"app:{msg_id}",
        time=created,
        content_type=msg_type,
    )


# -- 智能机器人 (JSON) ----------------------------------------------------------------------------


def _aibot_text(data: dict[str, Any], msg_type: str) -> str:
    body = data.get(msg_type)
    if msg_type in {"text", "voice"} and isinstance(body, dict):
        return str(body.get("content", ""))
    if msg_type == "mixed" and isinstance(body, dict):
        parts = []
        for item in body.get("msg_item", []) or []:
            if isinstance(item, dict) and item.get("msgtype") == "text":
                parts.append(str((item.get("text") or {}).get("content", "")))
        return "\n".join(parts)
    return ""


def parse_aibot_message(plaintext: bytes, *, now: datetime, bot_name: str = "") -> AibotMessage | None:
    """An AI-bot callback's JSON → ``AibotMessage``; ``None`` for events and stream refreshes."""
    try:
        data = json.loads(plaintext)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(str(exc), json_flavour=True) from exc
    return parse_aibot_payload(data, now=now, bot_name=bot_name)


def parse_aibot_payload(data: object, *, now: datetime, bot_name: str = "") -> AibotMessage | None:
    """The decoded JSON of an AI-bot message — a callback's plaintext or a long-connection frame's
    ``body``, which have the same shape — → ``AibotMessage``; ``None`` for events and stream refreshes."""
    if not isinstance(data, dict):
        raise MalformedPayload("not a JSON object", json_flavour=True)
    msg_type = data.get("msgtype")
    if not isinstance(msg_type, str):
        raise MalformedPayload("no msgtype", json_flavour=True)
    if msg_type in {"event", "stream"}:
        return None
    msg_id = data.get("msgid")
    sender = (data.get("from") or {}).get("userid") if isinstance(data.get("from"), dict) else None
    chat_type = data.get("chattype", "single")
    if not isinstance(msg_id, str) or not msg_id or not isinstance(sender, str) or not sender:
        raise MalformedPayload("message without msgid or from.userid", json_flavour=True)
    group = chat_type == "group"
    chat_id = str(data.get("chatid") or "") if group else DIRECT_CHAT
    if group and not chat_id:
        raise MalformedPayload("group message without chatid", json_flavour=True)
    text = _aibot_text(data, msg_type)
    if group:
        text = strip_mention(text, bot_name)
    message = IncomingMessage(
        platform=PLATFORM,
        chat_id=chat_id,
        chat_name=chat_id if group else "",
        sender_id=sender,
        sender_name=sender,
        text=text.strip(),
        message_id=f"aibot:{msg_id}",
        time=now,
        content_type=msg_type,
    )
    return AibotMessage(
        message=message, aibot_id=str(data.get("aibotid", "")), response_url=str(data.get("response_url", ""))
    )


class SeenIds:
    """A bounded LRU of message ids: retried and replayed callbacks are recognised, memory stays flat."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Record ``key``; ``False`` if it was already there."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)
