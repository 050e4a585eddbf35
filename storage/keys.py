"""A condition for "these (a, b) pairs" that every backend answers from an index on (a, b).

PostgreSQL plans ``(a, b) IN (VALUES ...)`` as index lookups; SQLite scans the whole index for it. Grouped
by the first column (``a = ? AND b IN (...)``, OR'd per value of ``a``), both walk the index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute


def pairs_in(
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], pairs: Iterable[tuple[Any, Any]]
) -> ColumnElement[bool]:
    by_first: dict[Any, list[Any]] = defaultdict(list)
    for a, b in pairs:
        by_first[a].append(b)
    if not by_first:
        return false()
    return or_(*(and_(first == a, second.in_(sorted(bs))) for a, bs in sorted(by_first.items())))
