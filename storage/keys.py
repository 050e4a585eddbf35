"""A condition for "these (a, b) pairs" that every backend answers from an index on (a, b).

PostgreSQL plans ``(a, b) IN (VALUES ...)`` as index lookups; SQLite scans the whole index for it. Grouped
by the first column (``a = ? AND b IN (...)``, OR'd per value of ``a``), both walk the index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, or_
from sqlalchemy.orm import InstrumentedAttribute

FIRST = "pairs_first"
SECONDS = "pairs_seconds"


def pairs_in(
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], pairs: Iterable[tuple[Any, Any]]
) -> ColumnElement[bool]:
    by_first: dict[Any, list[Any]] = defaultdict(list)
    for a, b in pairs:
        by_first[a].append(b)
    if not by_first:
        return false()
    return or_(*(and_(first == a, second.in_(sorted(bs))) for a, bs in sorted(by_first.items())))


def one_first_in(first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """``pairs_in`` for pairs that share their first value, with that value and the second ones bound later
    (``one_first_params``): a statement built once with it is only a cache lookup per use."""
    return and_(first == bindparam(FIRST), second.in_(bindparam(SECONDS, expanding=True)))


def one_first_params(pairs: Iterable[tuple[Any, Any]]) -> dict[str, Any] | None:
    """The parameters of ``one_first_in`` for these pairs, or None if their first values differ."""
    firsts = {a for a, _ in pairs}
    if len(firsts) != 1:
        return None
    return {FIRST: next(iter(firsts)), SECONDS: sorted({b for _, b in pairs})}
