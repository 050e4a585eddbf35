"""The simulated platform: messages are injected by scripts and tests; what the bot sends is recorded.

For a test or a load tool driving a running ``linli run`` from outside, the platform can take messages
over HTTP (``sim.ingest_token``: ``POST /sim/messages`` with ``Authorization: Bearer <token>``, one
recorded message in ``linli replay``'s format per request, answered once it is stored) and append what it
sends to a file (``sim.sent_log``). Both are off unless configured.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.adapters.base import Feed
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage, Say, SendImage
from bot.recording import RecordError, parse_record
from config.settings import SimSettings

log = logging.getLogger(__name__)

INGEST_PATH = "/sim/messages"


class SimulatedAdapter:
    """A group chat that lives in memory; ``inject`` plays a member posting, ``sent`` is what the bot said."""

    def __init__(
        self,
        platform: str = "sim",
        on_send: Callable[[OutgoingMessage], None] | None = None,
        settings: SimSettings | None = None,
    ) -> None:
        self.platform = platform
        self.sent: list[OutgoingMessage] = []
        self.on_send = on_send
        self.settings = settings or SimSettings()
        self._feed: Feed | None = None

    async def start(self, feed: Feed) -> None:
        self._feed = feed

    async def inject(self, message: IncomingMessage) -> None:
        if self._feed is None:
            raise RuntimeError("the simulated adapter is not started")
        await self._feed(message)

    async def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)
        if self.settings.sent_log is not None:
            _append(self.settings.sent_log, sent_record(message))
        if self.on_send is not None:
            self.on_send(message)

    async def stop(self) -> None:
        self._feed = None

    def health(self) -> dict[str, object]:
        return {"connected": self._feed is not None, "sent": len(self.sent)}

    def web_routes(self) -> list[web.RouteDef]:
        if not self.settings.ingest_token.get_secret_value():
            return []
        return [web.post(INGEST_PATH, self._ingest)]

    async def _ingest(self, request: web.Request) -> web.Response:
        expected = f"Bearer {self.settings.ingest_token.get_secret_value()}"
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected.encode()):
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            message = parse_record(await request.text())
        except (RecordError, UnicodeDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if message.platform != self.platform:
            return web.json_response({"error": f"platform must be {self.platform!r}"}, status=400)
        if self._feed is None:
            return web.json_response({"error": "not started"}, status=503)
        try:
            result = await self._feed(message)
        except Exception as exc:
            log.warning("message %s not stored: %s", message.message_id, exc)
            return web.json_response({"error": f"not stored: {type(exc).__name__}"}, status=503)
        body = dataclasses.asdict(result) if dataclasses.is_dataclass(result) and not isinstance(result, type) else {}
        return web.json_response(body)


def sent_record(message: OutgoingMessage) -> dict[str, Any]:
    """One line of ``sim.sent_log``."""
    record: dict[str, Any] = {"platform": message.platform, "kind": message.kind, "topic": message.topic.value}
    if isinstance(message, DirectMessage):
        record["to"] = message.to
    elif isinstance(message, Say | SendImage):
        record["chat_id"] = message.chat_id
    record["text"] = message.caption if isinstance(message, SendImage) else message.text
    record["ticket"] = message.ticket
    return record


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
