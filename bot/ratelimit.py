"""Sliding-window pacing: wait until a send fits every window, never drop."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float


class SlidingWindow:
    """At most ``limit`` events in any ``seconds`` for each of several windows."""

    def __init__(self, windows: Sequence[Window], clock: Callable[[], float] = time.monotonic) -> None:
        self.windows = tuple(windows)
        self.clock = clock
        longest = max((w.seconds for w in self.windows), default=0.0)
        self._longest = longest
        self._events: deque[float] = deque()

    def delay(self) -> float:
        """Seconds to wait before the next event fits; 0 if it fits now."""
        now = self.clock()
        while self._events and now - self._events[0] >= self._longest:
            self._events.popleft()
        wait = 0.0
        for window in self.windows:
            recent = [t for t in self._events if now - t < window.seconds]
            if len(recent) >= window.limit:
                wait = max(wait, recent[-window.limit] + window.seconds - now)
        return wait

    def record(self) -> None:
        self._events.append(self.clock())


class Pacer:
    """Per-key sliding windows (per account, per room); ``acquire`` waits until every key has room."""

    def __init__(self, windows_for: Callable[[str], Sequence[Window]]) -> None:
        self._windows_for = windows_for
        self._limits: dict[str, SlidingWindow] = {}
        self._lock = asyncio.Lock()

    def _limit(self, key: str) -> SlidingWindow:
        if key not in self._limits:
            self._limits[key] = SlidingWindow(self._windows_for(key))
        return self._limits[key]

    def delay(self, keys: Sequence[str]) -> float:
        return max((self._limit(k).delay() for k in keys), default=0.0)

    async def acquire(self, keys: Sequence[str]) -> None:
        async with self._lock:
            # Waiting is the point: a send that does not fit yet sleeps until the oldest event leaves.
            while (wait := self.delay(keys)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            for key in keys:
                self._limit(key).record()
