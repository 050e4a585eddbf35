"""The command parser never crashes and round-trips what it accepts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.command import ALIASES, Command, Verb, format_command, parse_command

verbs = st.sampled_from(sorted(ALIASES))
noise = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
commandish = st.builds(
    lambda lead, verb, sep, num, tail: f"{lead}{verb}{sep}{num}{tail}",
    st.sampled_from(["", "@linli ", "＠邻里\u2005", "  "]),
    verbs,
    st.sampled_from(["", " ", "　", "：", "#", " ＃"]),
    st.one_of(st.just(""), st.integers(0, 10**9).map(str)),
    noise,
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(noise, commandish, st.text(max_size=400)))
def test_never_crashes_and_round_trips(text: str) -> None:
    command = parse_command(text)
    if command is None:
        return
    assert isinstance(command.verb, Verb)
    assert parse_command(format_command(command)) == command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("接单 #12", Command(Verb.ACCEPT, 12)),
        ("接单12", Command(Verb.ACCEPT, 12)),
        ("＃12 办结 已更换灯管", Command(Verb.RESOLVE, 12, "已更换灯管")),
        ("@邻里 评价 #3 满意", Command(Verb.RATE, 3, "满意")),
        ("转派 #5 @何秀英", Command(Verb.TRANSFER, 5, "@何秀英", ("何秀英",))),
        ("进度", Command(Verb.PROGRESS)),
        ("谢谢楼长", None),
        ("接单啦哈哈", None),
        ("请问怎么评价楼长？", None),
        ("", None),
    ],
)
def test_examples(text: str, expected: Command | None) -> None:
    assert parse_command(text) == expected
