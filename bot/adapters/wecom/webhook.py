"""Payloads for group robot webhooks (群机器人 / 消息推送).

Limits from WeCom's documentation: markdown ≤ 4096 bytes, text ≤ 2048 bytes, image ≤ 2 MB before
base64 (JPG or PNG) with the MD5 of the raw bytes; ``<@userid>`` mentions a member inside markdown.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from bot.adapters.textsplit import split_text

MARKDOWN_LIMIT = 4096
IMAGE_LIMIT = 2 * 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


class PayloadError(ValueError):
    """The message cannot be sent as it is (too large, wrong format)."""


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


_INERT = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］"})


def inert(text: str) -> str:
    """Text as WeCom markdown shows it literally: no tags (``<@userid>``, ``<font>``) and no links that
    linli did not make. The characters are swapped for their full-width forms, which read the same."""
    return text.translate(_INERT)


def mention_markup(userids: tuple[str, ...]) -> str:
    return " ".join(f"<@{userid}>" for userid in userids)


def with_mentions(text: str, mentions: tuple[str, ...]) -> tuple[str, str]:
    """(head, body): WeCom ``<@userid>`` markup for ``mentions`` and the text it goes before, made inert.

    linli's texts address people as a plain ``@name `` prefix; on WeCom the name is the userid, so a
    leading ``@userid `` of a mentioned member is replaced by the markup (which WeCom renders as a real
    @-mention) instead of being shown twice. The separator is part of the head: a space when the
    text itself began with the mentions, else a line break.
    """
    body = text
    inline: list[str] = []
    while True:
        for userid in mentions:
            prefix = f"@{userid} "
            if userid not in inline and body.startswith(prefix):
                inline.append(userid)
                body = body[len(prefix) :]
                break
        else:
            break
    rest = tuple(u for u in mentions if u not in inline)
    body = inert(body)
    head = mention_markup((*inline, *rest))
    if not head:
        return "", body
    return (f"{head} " if inline and not rest else f"{head}\n"), body


def markdown_payloads(text: str, mentions: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One or more markdown messages; mentions go at the head of the first one."""
    head, body = with_mentions(text, mentions)
    chunks = split_text(body, MARKDOWN_LIMIT, reserve=_size(head))
    if head:
        chunks = [f"{head}{chunks[0]}" if chunks else head.strip(), *chunks[1:]]
    return [{"msgtype": "markdown", "markdown": {"content": chunk}} for chunk in chunks]


def image_payload(data: bytes) -> dict[str, Any]:
    """A webhook image message; refuses anything over 2 MB or other than PNG/JPEG."""
    if len(data) > IMAGE_LIMIT:
        raise PayloadError(f"image is {len(data)} bytes, the webhook limit is {IMAGE_LIMIT}")
    if not (data.startswith(_PNG) or data.startswith(_JPEG)):
        raise PayloadError("webhook images must be PNG or JPEG")
    return {
        "msgtype": "image",
        "image": {"base64": base64.b64encode(data).decode("ascii"), "md5": hashlib.md5(data).hexdigest()},
    }
