"""The pacing limiter with a fake clock: waits, never drops, in order."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.adapters.wechaty.limiter import ConversationLimiters, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_sends_are_spaced_by_the_per_second_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, 100, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(4):
        await limiter.acquire()
        stamps.append(clock.now)
    assert stamps == [1000.0, 1000.5, 1001.0, 1001.5]


async def test_the_per_minute_window_makes_the_next_send_wait_for_the_oldest_to_expire() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100.0, 3, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(5):
        await limiter.acquire()
        stamps.append(round(clock.now, 2))
    assert stamps == [1000.0, 1000.01, 1000.02, 1060.0, 1060.01]


async def test_concurrent_waiters_are_served_in_arrival_order_and_none_is_dropped() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, 20, clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def send(n: int) -> None:
        await limiter.acquire()
        order.append(n)

    await asyncio.gather(*(send(n) for n in range(25)))
    assert order == list(range(25))
    assert clock.now >= 1000.0 + 60.0  # 25 sends at 20/min need more than a minute


async def test_defaults_allow_at_most_one_per_second_and_twenty_per_minute() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, 20, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(21):
        await limiter.acquire()
        stamps.append(clock.now)
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(stamps))
    assert stamps[20] - stamps[0] >= 60.0


async def test_a_busy_room_does_not_hold_up_another_room() -> None:
    clock = FakeClock()
    limiters = ConversationLimiters((100.0, 1000), (1.0, 1000), clock=clock, sleep=clock.sleep)
    await limiters.acquire("busy@chatroom")
    start = clock.now
    await limiters.acquire("quiet@chatroom")
    assert clock.now - start < 0.02


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0, 10)
