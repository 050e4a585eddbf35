"""The JSON-lines formats of ``linli replay``: recorded messages in, the bot's actions out."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.message import DIRECT_CHAT, IncomingMessage

if TYPE_CHECKING:
    from storage.models import OutboxItem

REQUIRED = ("platform", "chat_id", "sender_id", "text", "message_id", "time")


class RecordError(ValueError):
    """One input line is not a valid recorded message; the text says why."""


def parse_record(line: str) -> IncomingMessage:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise RecordError("each line must be a JSON object")
    missing = [key for key in REQUIRED if data.get(key) in (None, "") and key != "text"]
    if missing:
        raise RecordError(f"missing {', '.join(missing)}")
    try:
        time = datetime.fromisoformat(str(data["time"]))
    except ValueError as exc:
        raise RecordError(f"time {data['time']!r} is not ISO 8601") from exc
    if time.tzinfo is None:
        raise RecordError(f"time {data['time']!r} has no UTC offset")
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise RecordError("text must be a string")
    mentions = data.get("mentions") or []
    if not isinstance(mentions, list):
        raise RecordError("mentions must be a list")
    chat_id = str(data["chat_id"])
    return IncomingMessage(
        platform=str(data["platform"]),
        chat_id=chat_id,
        chat_name=str(data.get("chat_name") or ("" if chat_id == DIRECT_CHAT else chat_id)),
        sender_id=str(data["sender_id"]),
        sender_name=str(data.get("sender_name") or data["sender_id"]),
        text=text or "",
        message_id=str(data["message_id"]),
        time=time,
        mentions=tuple(str(m) for m in mentions),
        content_type=str(data.get("content_type") or "text"),
    )


def action_record(item: OutboxItem) -> dict[str, Any]:
    record: dict[str, Any] = {"in_reply_to": item.in_reply_to, "kind": item.kind}
    if item.kind == "dm":
        record["to"] = item.recipient
    else:
        record["chat_id"] = item.chat_id
    record["text"] = item.text
    record["platform"] = item.platform
    if item.mentions:
        record["mentions"] = list(item.mentions)
    if item.image_path:
        record["image"] = item.image_path
    if item.ticket_id is not None:
        record["ticket"] = item.ticket_id
    return record
