"""Room numbers as residents and org files write them: 1502, 1502室, 2单元1502, 2-1502, 3栋1502.

One household is one room of one building. ``parse_room`` reads what a resident typed (with an optional
building before it); ``room_key`` is the canonical form stored and compared. Pure, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_ROOM = re.compile(
    r"^(?:(?P<building>[0-9A-Za-z]{1,4})\s*(?P<suffix>栋|座|幢|号楼|号)\s*)?"
    r"(?:(?P<entrance>\d{1,2})\s*(?:单元|-)\s*)?"
    r"(?P<room>\d{3,4})\s*(?:室|房|号)?$"
)


@dataclass(frozen=True)
class RoomRef:
    room: str
    """Canonical room: ``1502``, or ``2-1502`` with an entrance (单元)."""
    building: str | None = None
    """The building as typed before the room (``3栋``, ``A座``), if any."""


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def parse_room(text: str) -> RoomRef | None:
    """The room in ``text`` (the whole of it), or None when it is not a room number."""
    match = _ROOM.match(_fold(text))
    if match is None:
        return None
    entrance, room = match.group("entrance"), match.group("room")
    key = f"{int(entrance)}-{room}" if entrance else room
    building = match.group("building")
    return RoomRef(key, f"{building}{match.group('suffix')}" if building else None)


def room_key(text: str) -> str | None:
    """The canonical room of an org file's ``room`` (no building part), or None if it is not one."""
    ref = parse_room(text)
    return ref.room if ref is not None and ref.building is None else None


def floor_rooms(floors: int, per_floor: int) -> list[str]:
    """Rooms 101, 102, … up to ``floors`` floors of ``per_floor`` flats: 6 × 2 -> 101, 102, 201, …, 602."""
    return [f"{floor}{flat:02d}" for floor in range(1, floors + 1) for flat in range(1, per_floor + 1)]
