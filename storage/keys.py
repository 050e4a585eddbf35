"""A condition for "these (a, b) pairs" that every backend answers from an index on (a, b).

PostgreSQL plans ``(a, b) IN (VALUES ...)`` as index lookups; SQLite scans the whole index for it. Grouped
by the first column (``a = ? AND b IN (...)``, OR'd per value of ``a``), both walk the index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, or_
from sqlalchemy.orm import InstrumentedAttribute

_FIRST = "pairs_first"
_SECONDS = "pairs_seconds"


def pairs_in(
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], pairs: Iterable[tuple[Any, Any]]
) -> ColumnElement[bool]:
    by_first: dict[Any, list[Any]] = defaultdict(list)
    for a, b in pairs:
        by_first[a].append(b)
    if not by_first:
        return false()
    return or_(*(and_(first == a, second.in_(sorted(bs))) for a, bs in sorted(by_first.items())))


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class PairLookup(Generic[S]):
    """A SELECT over ``(first, second)`` pairs, built once for the common case (every pair shares its first
    value: one platform) and built per use only when they do not."""

    base: S
    first: InstrumentedAttribute[Any]
    second: InstrumentedAttribute[Any]
    one_first: S = field(init=False)

    def __post_init__(self) -> None:
        condition = and_(self.first == bindparam(_FIRST), self.second.in_(bindparam(_SECONDS, expanding=True)))
        object.__setattr__(self, "one_first", self.base.where(condition))

    def of(self, pairs: Collection[tuple[Any, Any]]) -> tuple[S, dict[str, Any] | None]:
        """The statement for these pairs and its parameters."""
        firsts = {a for a, _ in pairs}
        if len(firsts) == 1:
            return self.one_first, {_FIRST: next(iter(firsts)), _SECONDS: sorted({b for _, b in pairs})}
        return self.base.where(pairs_in(self.first, self.second, pairs)), None
