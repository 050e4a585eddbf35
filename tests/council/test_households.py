"""Households and council roles in the org file: optional, backward compatible, checked line by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from config.org_file import OrgFileError, load_org_file
from config.rooms import parse_room, room_key
from tests.conftest import EXAMPLE_ORG

BASE = """\
communities:
  - id: c1
    name: 测试社区
    units:
      - id: e1
        name: 一号小区
        units:
          - {id: b1, name: 1栋, leaders: [p1]}
          - {id: b2, name: 2栋}
people:
  - {id: p1, name: 张楼长, role: building_leader, unit: b1, platform_ids: {sim: zhang}}
  - {id: p2, name: 李阿姨, role: resident, unit: b1, platform_ids: {sim: li}, council_roles: [representatives]}
groups:
  - {platform: sim, chat_id: g1, name: 1栋群, unit: b1}
"""


def write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_an_org_file_without_households_still_loads(tmp_path: Path) -> None:
    spec = load_org_file(write(tmp_path))
    assert spec.households == []
    assert next(p for p in spec.people if p.id == "p2").council_roles == ("representatives",)


def test_households_by_floors_then_refined_room_by_room(tmp_path: Path) -> None:
    spec = load_org_file(
        write(
            tmp_path,
            """\
households:
  - {unit: b1, floors: 3, per_floor: 2}
  - {unit: b1, room: "301", members: [p2]}
  - {unit: b1, room: "302室", owner: false}
  - {unit: b2, rooms: ["2单元101", "2-102"]}
""",
        )
    )
    found = {h.id: (h.owner, h.members) for h in spec.households}
    assert list(found) == ["b1:101", "b1:102", "b1:201", "b1:202", "b1:301", "b1:302", "b2:2-101", "b2:2-102"]
    assert found["b1:301"] == (True, ("p2",))
    assert found["b1:302"] == (False, ())


@pytest.mark.parametrize(
    ("households", "reason"),
    [
        ("  - {unit: nowhere, room: '101'}\n", "households of unknown unit 'nowhere'"),
        ("  - {unit: b1, room: '1楼'}\n", "'1楼' is not a room number"),
        ("  - {unit: b1, room: '101', floors: 2, per_floor: 2}\n", "give exactly one of 'room', 'rooms' or 'floors'"),
        ("  - {unit: b1, floors: 200, per_floor: 2}\n", "'floors' must be a whole number from 1 to 99"),
        ("  - {unit: b1, room: '101', members: [p9]}\n", "household member 'p9' is not in 'people'"),
        ("  - {unit: b1, room: '101', owner: maybe}\n", "'owner' must be true (业主) or false (租户)"),
        (
            "  - {unit: b1, room: '101', members: [p2]}\n  - {unit: b1, room: '102', members: [p2]}\n",
            "'p2' already lives in household b1:101",
        ),
    ],
)
def test_a_broken_household_is_refused_with_its_line(tmp_path: Path, households: str, reason: str) -> None:
    path = write(tmp_path, "households:\n" + households)
    with pytest.raises(OrgFileError) as refused:
        load_org_file(path)
    first = BASE.count("\n") + 2  # the line of the first entry under "households:"
    last = first + households.count("\n") - 1
    assert (refused.value.path, refused.value.line) == (str(path), last)
    assert reason in refused.value.reason


def test_an_unknown_council_role_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(BASE.replace("[representatives]", "[mayor]"), encoding="utf-8")
    with pytest.raises(OrgFileError, match="'council_roles' must list some of party_meeting, representatives"):
        load_org_file(path)


def test_import_is_idempotent_and_retires_households_left_out(tmp_path: Path) -> None:
    env = {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'org.db'}"}
    runner = CliRunner()
    first = write(
        tmp_path, "households:\n  - {unit: b1, floors: 2, per_floor: 2}\n  - {unit: b1, room: '101', members: [p2]}\n"
    )
    assert runner.invoke(main, ["org", "import", str(first)], env=env).exit_code == 0
    assert runner.invoke(main, ["org", "import", str(first)], env=env).exit_code == 0
    shown = json.loads(runner.invoke(main, ["org", "show", "--json"], env=env).stdout)
    assert [(h["id"], h["members"]) for h in shown["households"]] == [
        ("b1:101", ["p2"]),
        ("b1:102", []),
        ("b1:201", []),
        ("b1:202", []),
    ]
    (tmp_path / "org.yaml").write_text(BASE + "households:\n  - {unit: b1, room: '101'}\n", encoding="utf-8")
    assert runner.invoke(main, ["org", "import", str(tmp_path / "org.yaml")], env=env).exit_code == 0
    shown = json.loads(runner.invoke(main, ["org", "show", "--json"], env=env).stdout)
    assert [(h["id"], h["members"]) for h in shown["households"]] == [("b1:101", [])]


def test_the_example_org_lists_老西街5号楼(tmp_path: Path) -> None:
    spec = load_org_file(EXAMPLE_ORG)
    assert [h.room for h in spec.households] == [
        "101",
        "102",
        "201",
        "202",
        "301",
        "302",
        "401",
        "402",
        "501",
        "502",
        "601",
        "602",
    ]
    assert [h.room for h in spec.households if not h.owner] == ["602"]


@pytest.mark.parametrize(
    ("written", "room", "building"),
    [
        ("1502", "1502", None),
        ("1502室", "1502", None),
        ("１５０２", "1502", None),
        ("2单元1502", "2-1502", None),
        ("3栋1502", "1502", "3栋"),
        ("A座 302", "302", "A座"),
    ],
)
def test_rooms_as_residents_write_them(written: str, room: str, building: str | None) -> None:
    parsed = parse_room(written)
    assert parsed is not None
    assert (parsed.room, parsed.building) == (room, building)


@pytest.mark.parametrize("written", ["15", "楼上", "1502号房间", ""])
def test_what_is_not_a_room(written: str) -> None:
    assert parse_room(written) is None
    assert room_key(written) is None
