"""What a scheduled job is: a plain async function of a ``JobContext`` returning a ``JobOutcome``.

Jobs are written like handlers: they read and change tickets through the context and return what they
want said; ``bot.job_runner`` owns the transaction, writes the messages to the outbox and commits. A job
with more to do than one transaction should hold (the next batch of due tickets, the next community's
digest) says ``more`` and is called again at the same instant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.context import JobContext
from bot.message import OutgoingMessage


@dataclass
class JobOutcome:
    messages: list[OutgoingMessage] = field(default_factory=list)
    more: bool = False
    """Call the job again, in a new transaction, at the same instant."""
    followup: Callable[[], Sequence[OutgoingMessage]] | None = None
    """Blocking work for after the commit, run in another process (``bot.followups``: so it must pickle, e.g. a
    ``functools.partial`` of a module-level function over plain values) while the job goes on; what it
    returns is emitted in its own transaction."""
    report: list[Any] = field(default_factory=list)
    """What the job did, for the command line (``linli deadlines run``)."""


Job = Callable[[JobContext], Awaitable[JobOutcome]]
