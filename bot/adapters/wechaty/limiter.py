"""Pacing for outbound WeChat messages: a caller waits for its turn, nothing is dropped.

WeChat flags personal accounts that send too fast, so every message the bot sends passes two limits:
one for the whole account and one for the conversation it goes to. Each limit is a minimum gap between
sends (``per_second``) plus a sliding 60-second window (``per_minute``). Waiters are served in the order
they arrived (the lock is held while waiting), so a digest to many rooms is spread out, not bunched.
"""

from __future__ import annotations

import asyncio
import time

from bot.adapters.ratelimit import Clock, Sleep, SlidingWindowLimiter, Window

WINDOW_SECONDS = 60.0


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

    def delay(self) -> float:
        """Seconds until the next send is allowed (0 if now)."""
        return self._budget.wait_time("")

    async def acquire(self) -> None:
        """Wait until a send is allowed and count it as sent."""
        async with self._lock:
            while (wait := self._budget.try_reserve("")) > 0:
                self.waited += wait
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

    async def acquire(self, conversation_id: str) -> None:
        """The conversation's turn first, then the account's: a slow room never holds up the others."""
        await self.for_conversation(conversation_id).acquire()
        await self.account.acquire()
