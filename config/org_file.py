"""Reading and validating an organisation file (YAML) with line numbers for every error.

The file describes one or more communities as a tree of units of any depth (社区 -> 小区 -> 楼栋, or
more levels), the people who serve them, the chat groups bound to them and, optionally, the households
living in them (for household votes). See docs/org.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.rooms import floor_rooms, room_key

ROLES = ("resident", "building_leader", "branch_secretary", "committee")
PLATFORMS = ("sim", "console", "wechaty", "wecom")
LEADER_ROLES = ("building_leader", "branch_secretary", "committee")
COUNCIL_ROLES = ("party_meeting", "representatives")
"""Roles on the 党群议事会 the org may give anyone: who records the 党员大会 and the 居民代表会议."""
MAX_FLOORS, MAX_PER_FLOOR = 99, 20


class OrgFileError(Exception):
    """The org file is broken; ``str()`` is ``FILE:LINE: reason``."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class UnitSpec:
    id: str
    kind: str
    name: str
    parent_id: str | None
    community_id: str
    depth: int
    line: int


@dataclass(frozen=True)
class PersonSpec:
    id: str
    name: str
    role: str
    unit_id: str
    phone: str | None
    platform_ids: dict[str, str]
    line: int
    household: str | None = None
    council_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class HouseholdSpec:
    """One household: a room of a unit (building), owner-occupied or not, and the people living there."""

    unit_id: str
    room: str
    owner: bool
    members: tuple[str, ...]
    line: int

    @property
    def id(self) -> str:
        return f"{self.unit_id}:{self.room}"


@dataclass(frozen=True)
class GroupSpec:
    platform: str
    chat_id: str
    name: str
    unit_id: str
    line: int


@dataclass(frozen=True)
class CoUnitSpec:
    """A co-building unit (共建单位) and the resources it offers."""

    id: str
    name: str
    community_id: str
    contact_id: str | None
    resources: tuple[dict[str, Any], ...]
    line: int


@dataclass
class OrgSpec:
    units: list[UnitSpec] = field(default_factory=list)
    people: list[PersonSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)
    co_units: list[CoUnitSpec] = field(default_factory=list)
    households: list[HouseholdSpec] = field(default_factory=list)


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records the line of every mapping under the key ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: dict[str, Any] | None, reason: str) -> OrgFileError:
        return OrgFileError(self.path, node.get("__line__") if node else None, reason)

    def text(self, node: dict[str, Any], key: str, *, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None:
            if required:
                raise self.error(node, f"'{key}' is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(node, f"'{key}' must be text, not {type(value).__name__}")
        text = str(value).strip()
        if required and not text:
            raise self.error(node, f"'{key}' is empty")
        return text

    def items(self, node: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = node.get(key) or []
        if not isinstance(value, list):
            raise self.error(node, f"'{key}' must be a list")
        for item in value:
            if not isinstance(item, dict):
                raise self.error(node, f"every entry of '{key}' must be a mapping")
        return value


def load_org_file(path: Path) -> OrgSpec:
    """Parse and validate ``path``; raise OrgFileError naming the file, line and reason."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise OrgFileError(path, mark.line + 1 if mark else None, f"not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise OrgFileError(path, None, f"cannot read the file: {exc}") from exc
    if not isinstance(raw, dict):
        raise OrgFileError(path, None, "the top level must be a mapping with 'communities', 'people', 'groups'")
    return _build(_Reader(path), raw)


def _build(reader: _Reader, raw: dict[str, Any]) -> OrgSpec:
    spec = OrgSpec()
    units: dict[str, UnitSpec] = {}
    leader_refs: list[tuple[dict[str, Any], str, str]] = []

    def walk(node: dict[str, Any], parent: UnitSpec | None, community_id: str | None, depth: int) -> None:
        unit_id = reader.text(node, "id")
        assert unit_id is not None
        if unit_id in units:
            raise reader.error(node, f"duplicate unit id '{unit_id}' (first at line {units[unit_id].line})")
        kind = reader.text(node, "kind", required=False) or ("community" if parent is None else "unit")
        unit = UnitSpec(
            id=unit_id,
            kind=kind,
            name=reader.text(node, "name") or unit_id,
            parent_id=parent.id if parent else None,
            community_id=community_id or unit_id,
            depth=depth,
            line=node["__line__"],
        )
        units[unit_id] = unit
        spec.units.append(unit)
        for leader in node.get("leaders") or []:
            if not isinstance(leader, str):
                raise reader.error(node, "'leaders' must list person ids")
            leader_refs.append((node, unit_id, leader))
        for child in reader.items(node, "units"):
            walk(child, unit, unit.community_id, depth + 1)

    communities = reader.items(raw, "communities")
    if not communities:
        raise reader.error(raw, "'communities' is missing or empty")
    for community in communities:
        walk(community, None, None, 0)

    people: dict[str, PersonSpec] = {}
    identities: dict[tuple[str, str], str] = {}
    for node in reader.items(raw, "people"):
        person_id = reader.text(node, "id")
        assert person_id is not None
        if person_id in people:
            raise reader.error(node, f"duplicate person id '{person_id}'")
        role = reader.text(node, "role") or ""
        if role not in ROLES:
            raise reader.error(node, f"unknown role '{role}' (one of {', '.join(ROLES)})")
        unit_id = reader.text(node, "unit") or ""
        if unit_id not in units:
            raise reader.error(node, f"person '{person_id}' serves unknown unit '{unit_id}'")
        platform_ids = node.get("platform_ids") or {}
        if not isinstance(platform_ids, dict):
            raise reader.error(node, "'platform_ids' must map a platform to an id")
        ids: dict[str, str] = {}
        for platform, value in platform_ids.items():
            if platform == "__line__":
                continue
            if platform not in PLATFORMS:
                raise reader.error(node, f"unknown platform '{platform}' (one of {', '.join(PLATFORMS)})")
            if not isinstance(value, str | int) or not str(value).strip():
                raise reader.error(node, f"the {platform} id of '{person_id}' must be non-empty text")
            key = (platform, str(value))
            if key in identities:
                raise reader.error(node, f"{platform} id '{value}' already belongs to '{identities[key]}'")
            identities[key] = person_id
            ids[platform] = str(value)
        phone = reader.text(node, "phone", required=False)
        household = reader.text(node, "household", required=False)
        if household is not None and len(household) > 64:
            raise reader.error(node, f"the household of '{person_id}' is longer than 64 characters")
        council_roles = node.get("council_roles") or []
        if not isinstance(council_roles, list) or any(r not in COUNCIL_ROLES for r in council_roles):
            raise reader.error(node, f"'council_roles' must list some of {', '.join(COUNCIL_ROLES)}")
        people[person_id] = PersonSpec(
            id=person_id,
            name=reader.text(node, "name") or person_id,
            role=role,
            unit_id=unit_id,
            phone=phone,
            platform_ids=ids,
            line=node["__line__"],
            household=household or None,
            council_roles=tuple(dict.fromkeys(str(r) for r in council_roles)),
        )
    spec.people = list(people.values())

    for node, unit_id, leader in leader_refs:
        if leader not in people:
            raise reader.error(node, f"unknown leader '{leader}' for unit '{unit_id}'")
        person = people[leader]
        if person.role not in LEADER_ROLES or person.unit_id != unit_id:
            raise reader.error(
                node, f"'{leader}' is listed as a leader of '{unit_id}' but serves '{person.unit_id}' as {person.role}"
            )

    seen_groups: dict[tuple[str, str], int] = {}
    for node in reader.items(raw, "groups"):
        platform = reader.text(node, "platform") or ""
        if platform not in PLATFORMS:
            raise reader.error(node, f"unknown platform '{platform}' (one of {', '.join(PLATFORMS)})")
        chat_id = reader.text(node, "chat_id") or ""
        if chat_id == "dm":
            raise reader.error(node, "'dm' is reserved for direct messages and cannot be a group")
        bound_to = reader.text(node, "unit", required=False)
        if not bound_to:
            raise reader.error(node, f"group '{chat_id}' is bound to nothing (give it a 'unit')")
        unit_id = bound_to
        if unit_id not in units:
            raise reader.error(node, f"group '{chat_id}' is bound to unknown unit '{unit_id}'")
        key = (platform, chat_id)
        if key in seen_groups:
            raise reader.error(node, f"duplicate group {platform}:{chat_id} (first at line {seen_groups[key]})")
        seen_groups[key] = node["__line__"]
        name = reader.text(node, "name", required=False) or chat_id
        spec.groups.append(GroupSpec(platform, chat_id, name, unit_id, node["__line__"]))

    for node in reader.items(raw, "co_units"):
        co_id = reader.text(node, "id") or ""
        community_id = reader.text(node, "community") or ""
        if community_id not in units or units[community_id].parent_id is not None:
            raise reader.error(node, f"co-building unit '{co_id}' names unknown community '{community_id}'")
        contact = reader.text(node, "contact", required=False)
        if contact and contact not in people:
            raise reader.error(node, f"co-building unit '{co_id}' names unknown contact '{contact}'")
        resources = tuple(
            {k: v for k, v in item.items() if k != "__line__"} for item in reader.items(node, "resources")
        )
        spec.co_units.append(
            CoUnitSpec(co_id, reader.text(node, "name") or co_id, community_id, contact, resources, node["__line__"])
        )
    spec.households = _households(reader, raw, units, people)
    return spec


def _count(reader: _Reader, node: dict[str, Any], key: str, highest: int) -> int:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= highest:
        raise reader.error(node, f"'{key}' must be a whole number from 1 to {highest}")
    return value


def _households(
    reader: _Reader, raw: dict[str, Any], units: dict[str, UnitSpec], people: dict[str, PersonSpec]
) -> list[HouseholdSpec]:
    """``households``: rooms of a unit, one at a time (``room``), as a list (``rooms``) or by floors
    (``floors`` × ``per_floor``). A later entry for a room already listed replaces it."""
    found: dict[str, HouseholdSpec] = {}
    member_of: dict[str, str] = {}
    for node in reader.items(raw, "households"):
        unit_id = reader.text(node, "unit") or ""
        if unit_id not in units:
            raise reader.error(node, f"households of unknown unit '{unit_id}'")
        shapes = [key for key in ("room", "rooms", "floors") if key in node]
        if len(shapes) != 1:
            raise reader.error(node, "give exactly one of 'room', 'rooms' or 'floors' (with 'per_floor')")
        owner = node.get("owner", True)
        if not isinstance(owner, bool):
            raise reader.error(node, "'owner' must be true (业主) or false (租户)")
        if shapes[0] == "floors":
            floors = _count(reader, node, "floors", MAX_FLOORS)
            written = floor_rooms(floors, _count(reader, node, "per_floor", MAX_PER_FLOOR))
        elif shapes[0] == "rooms":
            listed = node.get("rooms")
            if not isinstance(listed, list) or not listed:
                raise reader.error(node, "'rooms' must be a non-empty list of room numbers")
            written = [str(r) for r in listed]
        else:
            written = [reader.text(node, "room") or ""]
        members = node.get("members") or []
        if not isinstance(members, list) or (members and len(written) != 1):
            raise reader.error(node, "'members' lists the person ids of one household (give it with 'room')")
        for member in members:
            if member not in people:
                raise reader.error(node, f"household member '{member}' is not in 'people'")
        for text in written:
            room = room_key(text)
            if room is None:
                raise reader.error(node, f"'{text}' is not a room number such as 1502 or 2单元1502")
            household = HouseholdSpec(unit_id, room, owner, tuple(str(m) for m in members), node["__line__"])
            for member in household.members:
                if member_of.get(member, household.id) != household.id:
                    raise reader.error(node, f"'{member}' already lives in household {member_of[member]}")
                member_of[member] = household.id
            found[household.id] = household
    return list(found.values())
