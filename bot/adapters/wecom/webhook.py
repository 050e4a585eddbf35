"""Payloads for group robot webhooks (群机器人 / 消息推送) and text splitting by UTF-8 bytes.

Limits from WeCom's documentation: markdown ≤ 4096 bytes, text ≤ 2048 bytes, image ≤ 2 MB before
base64 (JPG or PNG) with the MD5 of the raw bytes; ``<@userid>`` mentions a member inside markdown.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

MARKDOWN_LIMIT = 4096
IMAGE_LIMIT = 2 * 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


class PayloadError(ValueError):
    """The message cannot be sent as it is (too large, wrong format)."""


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_line(line: str, limit: int) -> list[str]:
    """Cut one over-long line into pieces of at most ``limit`` bytes, never inside a character."""
    pieces: list[str] = []
    current = ""
    for char in line:
        if _size(current + char) > limit:
            pieces.append(current)
            current = ""
        current += char
    if current:
        pieces.append(current)
    return pieces


def split_text(text: str, limit: int, reserve: int = 0) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` bytes, at blank lines, then lines, then characters.

    ``reserve`` bytes are kept free in the first chunk (for mention markup prepended to it).
    Paragraphs (blocks separated by a blank line) stay whole when they fit, so a digest's sections
    are not torn apart; a single line longer than the limit is cut at a character boundary.
    """
    if limit <= reserve:
        raise PayloadError("limit too small")
    chunks: list[str] = []
    current = ""

    def room() -> int:
        return limit - (reserve if not chunks else 0)

    def flush() -> None:
        nonlocal current
        if current:
            chunks.append(current.rstrip("\n"))
        current = ""

    for block in text.split("\n\n"):
        candidate = f"{current}\n\n{block}" if current else block
        if _size(candidate) <= room():
            current = candidate
            continue
        flush()
        if _size(block) <= room():
            current = block
            continue
        for line in block.split("\n"):
            candidate = f"{current}\n{line}" if current else line
            if _size(candidate) <= room():
                current = candidate
                continue
            flush()
            if _size(line) <= room():
                current = line
                continue
            pieces = _cut_line(line, room())
            for piece in pieces[:-1]:
                chunks.append(piece)
            current = pieces[-1] if pieces else ""
    flush()
    return [chunk for chunk in chunks if chunk.strip()] or ([text] if text.strip() else [])


def mention_markup(userids: tuple[str, ...]) -> str:
    return " ".join(f"<@{userid}>" for userid in userids)


def with_mentions(text: str, mentions: tuple[str, ...]) -> tuple[str, str]:
    """(head, body): WeCom ``<@userid>`` markup for ``mentions`` and the text it goes before.

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
