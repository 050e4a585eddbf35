"""Pacing for outbound WeChat messages: a caller waits for its turn, nothing is dropped.

WeChat flags personal accounts that send too fast, so every message the bot sends passes two limits:
one for the whole account and one for the conversation it goes to. Each limit is a minimum gap between
sends (``per_second``) plus a sliding 60-second window (``per_minute``). Waiters are served in the order
they arrived (the lock is held while waiting), so a digest to many rooms is spread out, not bunched.
"""

from __future__ import annotations

import asyncio
import time

from bot.adapters.base import SendError
from bot.adapters.ratelimit import Clock, Sleep, SlidingWindowLimiter, Window

WINDOW_SECONDS = 60.0
IDLE_SWEEP_AT = 1000
"""Past this many conversation limiters, idle ones are forgotten."""


class RateLimiter:
    """At most ``per_second`` sends per second and ``per_minute`` in any 60 seconds."""

    def __init__(
        self,
        per_second: float,
        per_minute: int,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if per_second <= 0 or per_minute <= 0:
            raise ValueError("rate limits must be positive")
        self.min_gap = 1.0 / per_second
        self.per_minute = per_minute
        self._budget = SlidingWindowLimiter([Window(1, self.min_gap), Window(per_minute, WINDOW_SECONDS)], clock)
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.waited = 0.0
        """Total seconds callers spent waiting (for health and tests)."""

    def idle(self) -> bool:
        return self.delay() == 0 and not self._lock.locked()

    def delay(self) -> float:
        """Seconds until the next send is allowed (0 if now)."""
        return self._budget.wait_time("")

    async def acquire(self, max_wait: float | None = None) -> None:
        """Wait until a send is allowed and count it as sent; past ``max_wait`` seconds of waiting, raise
        ``SendError`` with ``retry_after`` instead (the outbox tries again then, and sends others meanwhile)."""
        async with self._lock:
            waited = 0.0
            while (wait := self._budget.try_reserve("")) > 0:
                if max_wait is not None and waited + wait > max_wait:
                    raise SendError(f"rate limit: next slot in {wait:.0f}s", retry_after=max(wait, 1.0), deferred=True)
                self.waited += wait
                waited += wait
                await self._sleep(wait)


class ConversationLimiters:
    """One account-wide limiter plus one per conversation, created on first use."""

    def __init__(
        self,
        account: tuple[float, int],
        conversation: tuple[float, int],
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._conversation = conversation
        self._clock = clock
        self._sleep = sleep
        self.account = RateLimiter(*account, clock=clock, sleep=sleep)
        self._per_conversation: dict[str, RateLimiter] = {}

    def for_conversation(self, conversation_id: str) -> RateLimiter:
        limiter = self._per_conversation.get(conversation_id)
        if limiter is None:
            limiter = RateLimiter(*self._conversation, clock=self._clock, sleep=self._sleep)
            self._per_conversation[conversation_id] = limiter
        return limiter

    async def acquire(self, conversation_id: str, max_wait: float | None = None) -> None:
        """The conversation's turn first, then the account's: a slow room never holds up the others.
        ``max_wait`` bounds the wait for each (``SendError`` with ``retry_after`` past it)."""
        await self.for_conversation(conversation_id).acquire(max_wait)
        await self.account.acquire(max_wait)
        self._forget_idle()

    def _forget_idle(self) -> None:
        """Limiters of conversations quiet for a minute hold no budget: drop them so the map stays small."""
        if len(self._per_conversation) <= IDLE_SWEEP_AT:
            return
        for key in [k for k, limiter in self._per_conversation.items() if limiter.idle()]:
            del self._per_conversation[key]
