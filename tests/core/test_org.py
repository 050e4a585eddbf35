"""Importing the organisation: idempotent, all or nothing, errors with file, line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import EXAMPLE_ORG

GOOD = """\
communities:
  - id: c1
    name: 测试社区
    units:
      - id: e1
        kind: estate
        name: 一号小区
        units:
          - {id: b1, kind: building, name: 1栋, leaders: [p1]}
people:
  - {id: p1, name: 张楼长, role: building_leader, unit: b1, platform_ids: {sim: zhang}}
  - {id: p2, name: 李书记, role: branch_secretary, unit: e1, platform_ids: {sim: li}}
groups:
  - {platform: sim, chat_id: g1, name: 1栋群, unit: b1}
"""


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'org.db'}"}


def test_example_org_imports_and_shows_the_stable_json(db_env: dict[str, str]) -> None:
    code, _, _ = run("org", "import", str(EXAMPLE_ORG), env=db_env)
    assert code == 0
    code, out, _ = run("org", "show", "--json", env=db_env)
    assert code == 0
    data = json.loads(out)
    assert data["communities"] == [{"id": "beijiang", "name": "北江社区"}]
    li = next(p for p in data["people"] if p["name"] == "李杏珊")
    assert li == {
        "id": "p-li",
        "name": "李杏珊",
        "role": "building_leader",
        "unit": "sdc-3",
        "platform_ids": {"sim": "lixingshan", "wechaty": "wxid_li21", "wecom": "LiXingShan"},
    }
    group_units = {g["chat_id"]: g["unit"] for g in data["groups"]}
    assert group_units["sim-sdc-3"] == li["unit"]
    assert {g["platform"] for g in data["groups"]} == {"sim", "console", "wechaty", "wecom"}
    assert {p["role"] for p in data["people"]} == {"resident", "building_leader", "branch_secretary", "committee"}


def test_import_is_idempotent(db_env: dict[str, str]) -> None:
    run("org", "import", str(EXAMPLE_ORG), env=db_env)
    first = run("org", "show", "--json", env=db_env)[1]
    assert run("org", "import", str(EXAMPLE_ORG), env=db_env)[0] == 0
    assert run("org", "show", "--json", env=db_env)[1] == first


@pytest.mark.parametrize(
    ("broken", "line", "reason"),
    [
        (
            GOOD.replace(
                "          - {id: b1, kind: building, name: 1栋, leaders: [p1]}",
                "          - {id: b1, kind: building, name: 1栋, leaders: [p1]}\n"
                "          - {id: b1, kind: building, name: 1栋again}",
            ),
            10,
            "duplicate unit id 'b1'",
        ),
        (GOOD.replace("leaders: [p1]", "leaders: [p9]"), 9, "unknown leader 'p9'"),
        (GOOD.replace(", unit: b1}\n", "}\n").replace("name: 1栋群}", "name: 1栋群}"), 14, "bound to nothing"),
        (GOOD.replace("unit: b1, platform_ids", "unit: b7, platform_ids"), 11, "unknown unit 'b7'"),
        (GOOD.replace("role: branch_secretary", "role: mayor"), 12, "unknown role 'mayor'"),
        (GOOD + "  - {platform: sim, chat_id: g1, name: again, unit: b1}\n", 15, "duplicate group"),
        ("communities: [\n  {id: c1\n", None, "not valid YAML"),
    ],
)
def test_broken_file_is_refused_and_nothing_is_imported(
    tmp_path: Path, db_env: dict[str, str], broken: str, line: int | None, reason: str
) -> None:
    assert run("org", "import", str(EXAMPLE_ORG), env=db_env)[0] == 0
    before = run("org", "show", "--json", env=db_env)[1]
    path = tmp_path / "broken-org.yaml"
    path.write_text(broken, encoding="utf-8")
    code, out, err = run("org", "import", str(path), env=db_env)
    assert code == 2
    assert out == ""
    assert str(path) in err
    assert reason in err
    if line is not None:
        assert f"{path}:{line}:" in err
    assert run("org", "show", "--json", env=db_env)[1] == before


def test_person_left_out_is_retired(tmp_path: Path, db_env: dict[str, str]) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(GOOD, encoding="utf-8")
    run("org", "import", str(path), env=db_env)
    path.write_text(
        GOOD.replace("  - {id: p2, name: 李书记, role: branch_secretary, unit: e1, platform_ids: {sim: li}}\n", ""),
        encoding="utf-8",
    )
    assert run("org", "import", str(path), env=db_env)[0] == 0
    people = json.loads(run("org", "show", "--json", env=db_env)[1])["people"]
    assert [p["id"] for p in people] == ["p1"]


def test_deeper_grid_comes_from_data(tmp_path: Path, db_env: dict[str, str]) -> None:
    deep = """\
communities:
  - id: street
    name: 西南街道
    units:
      - id: comm
        kind: community
        name: 北江社区
        units:
          - id: grid
            kind: grid
            name: 第一网格
            units:
              - {id: b1, kind: building, name: 1栋}
people:
  - {id: p1, name: 网格长, role: branch_secretary, unit: grid, platform_ids: {sim: g1}}
  - {id: p2, name: 书记, role: committee, unit: comm, platform_ids: {sim: c1}}
groups:
  - {platform: sim, chat_id: g-b1, name: 1栋, unit: b1}
"""
    path = tmp_path / "deep.yaml"
    path.write_text(deep, encoding="utf-8")
    assert run("org", "import", str(path), env=db_env)[0] == 0
    data = json.loads(run("org", "show", "--json", env=db_env)[1])
    assert data["communities"] == [{"id": "street", "name": "西南街道"}]
