"""A job's follow-ups run beside its next steps, a bounded number at once, and their failures are not lost."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from bot.followups import Followups
from bot.message import OutgoingMessage, Say


def said(text: str) -> list[OutgoingMessage]:
    return [Say(platform="sim", chat_id="sim-committee", text=text)]


async def test_a_step_goes_on_while_its_follow_up_runs_and_what_it_made_is_emitted() -> None:
    emitted: list[str] = []

    async def emit(made: Sequence[OutgoingMessage]) -> None:
        emitted.extend(m.text for m in made if isinstance(m, Say))

    release = threading.Event()

    def slow() -> list[OutgoingMessage]:
        release.wait(10)
        return said("charts of community 1")

    followups = Followups(emit, processes=0, at_once=2)  # threads: the test's functions, an event it releases
    await followups.start(slow)
    await followups.start(lambda: said("charts of community 2"))
    await asyncio.sleep(0.2)
    assert emitted == ["charts of community 2"]  # the second did not wait for the first
    release.set()
    await followups.finish()
    assert emitted == ["charts of community 2", "charts of community 1"]


async def test_no_more_run_at_once_than_allowed() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def work() -> list[OutgoingMessage]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.05)
        with lock:
            running -= 1
        return []

    async def emit(made: Sequence[OutgoingMessage]) -> None:
        return None

    followups = Followups(emit, processes=0)  # a thread, one at a time
    for _ in range(5):
        await followups.start(work)
    await followups.finish()
    assert most == 1


async def test_a_failed_follow_up_is_raised_after_the_others_finished() -> None:
    emitted: list[str] = []

    async def emit(made: Sequence[OutgoingMessage]) -> None:
        emitted.extend(m.text for m in made if isinstance(m, Say))

    def broken() -> list[OutgoingMessage]:
        raise OSError("disk full")

    followups = Followups(emit, processes=0, at_once=2)
    await followups.start(broken)
    await followups.start(lambda: said("the other community's charts"))
    with pytest.raises(OSError, match="disk full"):
        await followups.finish()
    assert emitted == ["the other community's charts"]
