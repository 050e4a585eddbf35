"""The parser, the help text and the routes are one list: every verb has its one route and its help line."""

from __future__ import annotations

from collections import Counter

from bot.texts.chat import USAGE, help_text
from handlers import ROUTERS
from nlp.command import ALIASES, COMMANDS, Audience, Verb, parse_command


def test_every_verb_has_exactly_one_route() -> None:
    routed = Counter(verb for router in ROUTERS for verb in router.verbs)
    assert set(routed) == set(Verb)
    assert set(routed.values()) == {1}


def test_every_verb_is_listed_once_with_its_help_line_and_parses_by_each_alias() -> None:
    assert sorted(spec.verb for spec in COMMANDS) == sorted(Verb)
    assert set(USAGE) == set(Verb)
    for spec in COMMANDS:
        for alias in spec.aliases:
            command = parse_command(f"{alias} #7" if spec.needs_ticket else alias)
            assert command is not None
            assert command.verb is spec.verb
    assert len(ALIASES) == sum(len(spec.aliases) for spec in COMMANDS)


def test_help_shows_each_audience_its_own_commands() -> None:
    resident = help_text([Audience.RESIDENT])
    leader = help_text([Audience.RESIDENT, Audience.GRID])
    assert "进度 #编号" in resident
    assert "接单" not in resident
    assert "接单 #编号" in leader
    assert "绑定" not in leader
    assert "绑定 楼栋或小区名" in help_text([Audience.COMMITTEE])
