"""What linli answers one sender and one chat is limited, so that one resident cannot silence the bot.

The pipeline passes each message's replies through ``ReplyGuard.screen`` before they reach the outbox.
Only answers to the sender (in their chat, or by direct message) are screened; notices to the grid about
tickets are not, and nothing about an urgent or ``check`` message ever is. An answer identical to one the
sender got within ``repeat_seconds`` for the same words is collapsed: the first repeat gets one short notice, later ones
nothing. Past the per-sender or per-chat budget the same notice is given once and the rest is not said.
The message itself is always stored and handled; only the talking back is limited.

State is per process and bounded (least recently used keys are forgotten past ``max_keys``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Sequence
from datetime import datetime

from bot.message import DirectMessage, IncomingMessage, OutgoingMessage, Say, SendImage
from bot.texts import chat as texts
from config.settings import FloodSettings
from nlp.decision import Decision

MINUTE, HOUR = 60.0, 3600.0


class _Bounded(OrderedDict[str, deque[float]]):
    def __init__(self, max_keys: int) -> None:
        super().__init__()
        self.max_keys = max_keys

    def stamps(self, key: str) -> deque[float]:
        found = self.get(key)
        if found is None:
            found = self[key] = deque()
            while len(self) > self.max_keys:
                self.popitem(last=False)
        else:
            self.move_to_end(key)
        return found


def _recent(stamps: deque[float], now: float, span: float) -> int:
    while stamps and stamps[0] <= now - HOUR:
        stamps.popleft()
    return sum(1 for t in stamps if t > now - span)


class ReplyGuard:
    def __init__(self, settings: FloodSettings) -> None:
        self.settings = settings
        self._senders = _Bounded(settings.max_keys)
        self._chats = _Bounded(settings.max_keys)
        self._said = _Bounded(settings.max_keys)
        self._warned = _Bounded(settings.max_keys)
        self.suppressed = 0

    def __len__(self) -> int:
        return len(self._senders) + len(self._chats) + len(self._said) + len(self._warned)

    def screen(
        self, msg: IncomingMessage, decision: Decision, replies: Sequence[OutgoingMessage], now: datetime
    ) -> list[OutgoingMessage]:
        if decision.urgent or decision.check or not self.settings.enabled:
            return list(replies)
        t = now.timestamp()
        sender = f"{msg.platform}:{msg.sender_id}"
        chat = f"{msg.platform}:{msg.chat_id}"
        out: list[OutgoingMessage] = []
        for reply in replies:
            if not self._answers(msg, reply):
                out.append(reply)
                continue
            if self._repeated(sender, msg.text, reply, t) or self._over_budget(sender, chat, t):
                self.suppressed += 1
                if self._warn_once(sender, t):
                    out.append(self._notice(msg, reply))
                continue
            self._senders.stamps(sender).append(t)
            self._chats.stamps(chat).append(t)
            out.append(reply)
        return out

    @staticmethod
    def _answers(msg: IncomingMessage, reply: OutgoingMessage) -> bool:
        """Whether ``reply`` talks back to whoever wrote ``msg`` (rather than telling the grid)."""
        if reply.platform != msg.platform:
            return False
        if isinstance(reply, DirectMessage):
            return reply.to == msg.sender_id
        if isinstance(reply, Say | SendImage):
            return reply.chat_id == msg.chat_id
        return False

    def _repeated(self, sender: str, asked: str, reply: OutgoingMessage, t: float) -> bool:
        """The same answer to the same words from the same sender, again: a repeat. Different words that
        happen to get the same answer (评价 and 撤销 on one ticket refused alike) are not."""
        body = reply.caption if isinstance(reply, SendImage) else reply.text
        digest = hashlib.blake2b(f"{sender}\0{' '.join(asked.split())}\0{body}".encode(), digest_size=16).hexdigest()
        stamps = self._said.stamps(digest)
        seen = bool(stamps) and stamps[-1] > t - self.settings.repeat_seconds
        stamps.clear()
        stamps.append(t)
        return seen

    def _over_budget(self, sender: str, chat: str, t: float) -> bool:
        s = self.settings
        mine = self._senders.stamps(sender)
        room = self._chats.stamps(chat)
        return (
            _recent(mine, t, MINUTE) >= s.per_sender_per_minute
            or _recent(mine, t, HOUR) >= s.per_sender_per_hour
            or _recent(room, t, MINUTE) >= s.per_chat_per_minute
        )

    def _warn_once(self, sender: str, t: float) -> bool:
        stamps = self._warned.stamps(sender)
        if stamps and stamps[-1] > t - self.settings.repeat_seconds:
            return False
        stamps.clear()
        stamps.append(t)
        return True

    @staticmethod
    def _notice(msg: IncomingMessage, reply: OutgoingMessage) -> OutgoingMessage:
        if isinstance(reply, DirectMessage):
            return DirectMessage(msg.platform, msg.sender_id, texts.repeated())
        return Say(msg.platform, msg.chat_id, texts.mention_text(msg.sender_name, texts.repeated()), (msg.sender_id,))
