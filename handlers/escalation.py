"""Escalation one level up the grid: the next level is told, the assignee stays accountable.

The deadline sweep (handlers/deadlines.py) and the 升级 command (``lifecycle.escalate``) both find the next
level with ``escalation_step``, so they agree on what "one level up" means, however deep the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storage.models import Person


def escalation_step(
    chain: Sequence[str], assignee_unit: str | None, level: int, serving: Callable[[str], Sequence[Person]]
) -> tuple[int, str, Sequence[Person]] | None:
    """(new escalation level, unit id, people) of the first level above the ticket's current one that has
    someone serving it; levels with nobody are skipped and counted. ``chain`` is nearest first."""
    base = chain.index(assignee_unit) if assignee_unit in chain else 0
    for index in range(base + level + 1, len(chain)):
        people = serving(chain[index])
        if people:
            return index - base, chain[index], people
    return None
