"""Chat commands: short Chinese verbs, tolerant of width, spacing, order and @-mentions.

"接单 #12", "接单12", "＃12 办结 已更换灯管", "@linli 评价 #3 满意" all parse. Parsing is pure and never
raises; ``format_command`` writes the canonical form that parses back to the same command.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Verb(StrEnum):
    ACCEPT = "接单"
    RESOLVE = "办结"
    TRANSFER = "转派"
    ESCALATE = "升级"
    REJECT = "不受理"
    MINE = "我的任务"
    TODO = "待办"
    PROGRESS = "进度"
    RATE = "评价"
    WITHDRAW = "撤销"
    BIND = "绑定"
    HELP = "帮助"
    POINTS = "积分"
    RANKING = "排行"
    DISPATCH = "派单"
    # the residents' council and voice (docs/council.md)
    COUNCIL_ADD = "上会"
    PROPOSE = "提议"
    CONSULT = "商议"
    REVIEW = "审议"
    DECIDE = "决议"
    PUBLISH_DECISION = "公开决议"
    PUBLISH_RESULT = "公开结果"
    START_VOTE = "发起表决"
    VOTE_COUNT = "表决结果"
    AGREE = "同意"
    OPPOSE = "反对"
    ABSTAIN = "弃权"
    MAILBOX = "信箱"
    ANONYMOUS = "匿名建议"
    ANSWER = "回复建议"
    CONFIRM_URGENT = "确认紧急"
    NOT_URGENT = "不紧急"
    URGENT = "紧急"
    MAKE_MAJOR = "改为大事"
    MAKE_TRIVIAL = "改为小事"
    NOT_AN_ISSUE = "不是问题"
    CHANGE_DOMAIN = "改领域"


class Audience(StrEnum):
    """Who a command is for: anyone in a group, the people serving on the grid, the community committee."""

    RESIDENT = "resident"
    GRID = "grid"
    COMMITTEE = "committee"
    COUNCIL = "council"
    """Whoever records the steps of the 党群议事会 or starts household votes."""


@dataclass(frozen=True)
class CommandSpec:
    verb: Verb
    aliases: tuple[str, ...]
    audience: Audience
    needs_ticket: bool = False
    hash_only: bool = False
    """A command only with the ticket number written ``#12``: the verb is also a word residents use in
    reports ("紧急，3栋电梯困人" stays a report)."""


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(Verb.PROGRESS, ("进度", "查进度"), Audience.RESIDENT),
    CommandSpec(Verb.RATE, ("评价",), Audience.RESIDENT, needs_ticket=True),
    CommandSpec(Verb.WITHDRAW, ("撤销", "撤回"), Audience.RESIDENT, needs_ticket=True),
    CommandSpec(Verb.HELP, ("帮助", "help"), Audience.RESIDENT),
    CommandSpec(Verb.AGREE, ("同意", "赞成"), Audience.RESIDENT),
    CommandSpec(Verb.OPPOSE, ("反对",), Audience.RESIDENT),
    CommandSpec(Verb.ABSTAIN, ("弃权",), Audience.RESIDENT),
    CommandSpec(Verb.VOTE_COUNT, ("表决结果", "表决情况"), Audience.RESIDENT),
    CommandSpec(Verb.MAILBOX, ("信箱", "楼长信箱"), Audience.RESIDENT),
    CommandSpec(Verb.ANONYMOUS, ("匿名建议",), Audience.RESIDENT),
    CommandSpec(Verb.ACCEPT, ("接单", "接"), Audience.GRID, needs_ticket=True),
    CommandSpec(Verb.RESOLVE, ("办结", "已办结", "完成"), Audience.GRID, needs_ticket=True),
    CommandSpec(Verb.TRANSFER, ("转派", "转交"), Audience.GRID, needs_ticket=True),
    CommandSpec(Verb.ESCALATE, ("升级", "上报"), Audience.GRID, needs_ticket=True),
    CommandSpec(Verb.REJECT, ("不受理",), Audience.GRID, needs_ticket=True),
    CommandSpec(Verb.DISPATCH, ("派单",), Audience.GRID, needs_ticket=True),
    CommandSpec(Verb.CONFIRM_URGENT, ("确认紧急",), Audience.GRID, needs_ticket=True, hash_only=True),
    CommandSpec(Verb.NOT_URGENT, ("不紧急",), Audience.GRID, needs_ticket=True, hash_only=True),
    CommandSpec(Verb.URGENT, ("紧急",), Audience.GRID, needs_ticket=True, hash_only=True),
    CommandSpec(Verb.MAKE_MAJOR, ("改为大事", "改成大事"), Audience.GRID, needs_ticket=True, hash_only=True),
    CommandSpec(Verb.MAKE_TRIVIAL, ("改为小事", "改成小事"), Audience.GRID, needs_ticket=True, hash_only=True),
    CommandSpec(Verb.NOT_AN_ISSUE, ("不是问题",), Audience.GRID, needs_ticket=True, hash_only=True),
    CommandSpec(Verb.CHANGE_DOMAIN, ("改领域", "改为领域"), Audience.GRID, needs_ticket=True, hash_only=True),
    CommandSpec(Verb.MINE, ("我的任务", "我的工单"), Audience.GRID),
    CommandSpec(Verb.TODO, ("待办",), Audience.GRID),
    CommandSpec(Verb.POINTS, ("积分",), Audience.GRID),
    CommandSpec(Verb.RANKING, ("排行", "排行榜"), Audience.GRID),
    CommandSpec(Verb.ANSWER, ("回复建议",), Audience.GRID),
    CommandSpec(Verb.BIND, ("绑定",), Audience.COMMITTEE),
    CommandSpec(Verb.COUNCIL_ADD, ("上会",), Audience.COUNCIL),
    CommandSpec(Verb.PROPOSE, ("提议",), Audience.COUNCIL, needs_ticket=True),
    CommandSpec(Verb.CONSULT, ("商议",), Audience.COUNCIL, needs_ticket=True),
    CommandSpec(Verb.REVIEW, ("审议",), Audience.COUNCIL, needs_ticket=True),
    CommandSpec(Verb.DECIDE, ("决议",), Audience.COUNCIL, needs_ticket=True),
    CommandSpec(Verb.PUBLISH_DECISION, ("公开决议",), Audience.COUNCIL, needs_ticket=True),
    CommandSpec(Verb.PUBLISH_RESULT, ("公开结果",), Audience.COUNCIL, needs_ticket=True),
    CommandSpec(Verb.START_VOTE, ("发起表决",), Audience.COUNCIL, needs_ticket=True),
)
"""Every chat command, in the order help lists them: the parser, the help text and the routes all read this."""

ALIASES: dict[str, Verb] = {alias: spec.verb for spec in COMMANDS for alias in spec.aliases}
NEEDS_TICKET = frozenset(spec.verb for spec in COMMANDS if spec.needs_ticket)
"""Verbs that need a ticket number; the others take none or treat it as optional."""
HASH_ONLY = frozenset(spec.verb for spec in COMMANDS if spec.hash_only)
MAX_COMMAND_CHARS = 300

_VERB_PATTERN = "|".join(sorted((re.escape(a) for a in ALIASES), key=len, reverse=True))
_LEADING_MENTIONS = re.compile(r"^(?:@[^\s@]{1,32}[\s\u2005]+)+")
_TICKET = re.compile(r"#\s*(\d{1,9})")
_VERB_AT_START = re.compile(rf"^(?:{_VERB_PATTERN})(?=$|[\s#\d@:：,，])", re.IGNORECASE)
_VERB_THEN_ANYTHING = re.compile(rf"^(?:{_VERB_PATTERN})", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^(\d{1,9})(?=$|\s|[^\d])")
_MENTION = re.compile(r"@([^\s@]{1,32})")
_PLACE_AFTER = re.compile(r"^[栋棟楼樓号號幢座单單元室层層户戶]")
"""A number followed by one of these names a place (#3栋), not a ticket."""


@dataclass(frozen=True)
class Command:
    verb: Verb
    ticket: int | None = None
    argument: str = ""
    mentions: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Full-width to half-width (＃１２ -> #12), unify spaces, trim."""
    text = unicodedata.normalize("NFKC", text).replace("\u2005", " ")
    return " ".join(text.split())


def parse_command(text: str) -> Command | None:
    """The command in ``text``, or None when it is not one. Never raises."""
    if not text or len(text) > MAX_COMMAND_CHARS:
        return None
    body = _LEADING_MENTIONS.sub("", fold(text) + " ").strip()
    ticket: int | None = None
    leading = _TICKET.match(body)
    if leading:  # "#12 办结 ..." — number before the verb
        ticket = int(leading.group(1))
        body = body[leading.end() :].strip()
    # After a leading ticket number the verb may run straight into its note ("#12 办结已换灯管").
    verb_match = (_VERB_THEN_ANYTHING if leading else _VERB_AT_START).match(body)
    if verb_match is None:
        return None
    verb = ALIASES[verb_match.group(0).lower()]
    rest = body[verb_match.end() :].lstrip(":：,， ").strip()
    hashed = leading is not None
    place = False
    if ticket is None:
        numbered = _TICKET.match(rest)
        hashed = numbered is not None
        numbered = numbered or _BARE_NUMBER.match(rest)
        if numbered:
            ticket = int(numbered.group(1))
            place = _PLACE_AFTER.match(rest[numbered.end() :]) is not None
            rest = rest[numbered.end() :].strip()
    if verb in HASH_ONLY and (not hashed or place):
        return None
    mentions = tuple(_MENTION.findall(rest))
    return Command(verb, ticket, rest, mentions)


_LEADING_TICKET = re.compile(r"^[#＃]\s*[0-9０-９]{1,9}\s*")


def command_body(text: str, verb: Verb) -> str:
    """What follows ``verb`` as the sender wrote it (their characters, not folded; ticket numbers and room
    numbers left in place), or "" when ``text`` does not start with one of the verb's aliases."""
    body = _LEADING_MENTIONS.sub("", text.replace("\u2005", " ").strip() + " ").strip()
    body = _LEADING_TICKET.sub("", body)
    folded = unicodedata.normalize("NFKC", body).lower()
    for alias in sorted((a for a, v in ALIASES.items() if v is verb), key=len, reverse=True):
        if folded.startswith(alias.lower()):
            return body[len(alias) :].lstrip(":：,， \t").strip()
    return ""


def format_command(command: Command) -> str:
    parts = [command.verb.value]
    if command.ticket is not None:
        parts.append(f"#{command.ticket}")
    if command.argument:
        parts.append(command.argument)
    return " ".join(parts)
