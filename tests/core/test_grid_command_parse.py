"""The grid's verification and correction verbs are commands only with a #number: the same words in a
resident's report leave it a report."""

from __future__ import annotations

import pytest

from handlers.hotlines import about_gas, about_lift
from nlp.command import Command, Verb, parse_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("确认紧急 #12", Command(Verb.CONFIRM_URGENT, 12)),
        ("＃12 不紧急", Command(Verb.NOT_URGENT, 12)),
        ("@linli 紧急 ＃１２", Command(Verb.URGENT, 12)),
        ("改为大事#3", Command(Verb.MAKE_MAJOR, 3)),
        ("改成小事 #3", Command(Verb.MAKE_TRIVIAL, 3)),
        ("不是问题 #3", Command(Verb.NOT_AN_ISSUE, 3)),
        ("改领域 #12 环境卫生", Command(Verb.CHANGE_DOMAIN, 12, "环境卫生")),
    ],
)
def test_with_a_hash_number_they_are_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "紧急 3栋电梯有人困住了",
        "紧急：楼下着火了",
        "紧急 #3栋电梯有人困住",
        "紧急",
        "不紧急，有空帮忙看看楼道灯",
        "不是问题，已经修好了",
        "改为大事 12",
    ],
)
def test_without_one_they_are_not(text: str) -> None:
    assert parse_command(text) is None


@pytest.mark.parametrize(
    ("rules", "text", "lift", "gas"),
    [
        (["safety.lift_trapped"], "有人困住了", True, False),
        (["lift.out_of_service", "model:电梯+2.2"], "坏了", True, False),
        (["test.scripted"], "部lift坏咗，有人困喺入面", True, False),
        (["safety.gas"], "好大味", False, True),
        (["test.scripted"], "天然气管道漏气", False, True),
        (["safety.fire", "model:楼梯+1.0"], "楼梯间着火了", False, False),
        (["daily.gasket"], "水龙头垫片坏了", False, False),
    ],
)
def test_the_lift_and_gas_lines_apply_only_where_they_should(
    rules: list[str], text: str, lift: bool, gas: bool
) -> None:
    assert about_lift(rules, text) is lift
    assert about_gas(rules, text) is gas
