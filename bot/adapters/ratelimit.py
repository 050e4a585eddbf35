"""Sliding-window send budgets shared by the platform adapters (per member, per robot, per room, per account).

Platforms flag or silently drop messages sent too fast; a budget answers "how long until this send
fits every window", and ``reserve`` waits for a slot or hands the message back to the outbox with a
retry hint, so nothing is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.adapters.base import SendError

Clock = Callable[[], float]
PRUNE_AT = 1000
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Window:
    limit: int
    seconds: float


class SlidingWindowLimiter:
    """Counts sends per key in sliding windows (e.g. 30/min and 1000/h per member)."""

    def __init__(self, windows: Iterable[Window], clock: Clock) -> None:
        self._windows = tuple(windows)
        self._span = max(w.seconds for w in self._windows)
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        stamps = self._sent.setdefault(key, deque())
        while stamps and stamps[0] <= now - self._span:
            stamps.popleft()
        if len(self._sent) > PRUNE_AT:  # forget keys with nothing in any window: the map stays small
            for idle in [k for k, s in self._sent.items() if k != key and (not s or s[-1] <= now - self._span)]:
                del self._sent[idle]
        return stamps

    def wait_time(self, key: str, count: int = 1) -> float:
        """Seconds until ``count`` more sends to ``key`` fit every window (0 if they fit now)."""
        now = self._clock()
        stamps = self._prune(key, now)
        wait = 0.0
        for window in self._windows:
            if count > window.limit:
                return float("inf")
            recent = [t for t in stamps if t > now - window.seconds]
            excess = len(recent) + count - window.limit
            if excess > 0:
                wait = max(wait, recent[excess - 1] + window.seconds - now)
        return wait

    def try_reserve(self, key: str, count: int = 1) -> float:
        """Record ``count`` sends and return 0, or return the wait without recording anything."""
        wait = self.wait_time(key, count)
        if wait > 0:
            return wait
        now = self._clock()
        self._sent[key].extend([now] * count)
        return 0.0

    def release(self, key: str, count: int = 1) -> None:
        """Give back the newest ``count`` reservations (the request never reached WeCom)."""
        stamps = self._sent.get(key)
        for _ in range(min(count, len(stamps or ()))):
            assert stamps is not None
            stamps.pop()

    def keys(self) -> int:
        return sum(1 for stamps in self._sent.values() if stamps)

    async def reserve(self, key: str, count: int, max_wait: float, sleep: Sleep) -> None:
        """Wait (at most ``max_wait`` in total) for a slot, or raise ``SendError`` with a hint."""
        waited = 0.0
        while True:
            wait = self.try_reserve(key, count)
            if wait <= 0:
                return
            if waited + wait > max_wait:
                raise SendError(
                    f"rate limit for {key}: next slot in {wait:.0f}s", retry_after=max(wait, 1.0), deferred=True
                )
            await sleep(wait)
            waited += wait
