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


ALIASES: dict[str, Verb] = {
    "接单": Verb.ACCEPT,
    "接": Verb.ACCEPT,
    "办结": Verb.RESOLVE,
    "已办结": Verb.RESOLVE,
    "完成": Verb.RESOLVE,
    "转派": Verb.TRANSFER,
    "转交": Verb.TRANSFER,
    "升级": Verb.ESCALATE,
    "上报": Verb.ESCALATE,
    "不受理": Verb.REJECT,
    "我的任务": Verb.MINE,
    "我的工单": Verb.MINE,
    "待办": Verb.TODO,
    "进度": Verb.PROGRESS,
    "查进度": Verb.PROGRESS,
    "评价": Verb.RATE,
    "撤销": Verb.WITHDRAW,
    "撤回": Verb.WITHDRAW,
    "绑定": Verb.BIND,
    "帮助": Verb.HELP,
    "help": Verb.HELP,
    "积分": Verb.POINTS,
    "排行": Verb.RANKING,
    "排行榜": Verb.RANKING,
    "派单": Verb.DISPATCH,
}

# Verbs that need a ticket number; the others take none or treat it as optional.
NEEDS_TICKET = frozenset(
    {Verb.ACCEPT, Verb.RESOLVE, Verb.TRANSFER, Verb.ESCALATE, Verb.REJECT, Verb.RATE, Verb.WITHDRAW, Verb.DISPATCH}
)
MAX_COMMAND_CHARS = 300

_VERB_PATTERN = "|".join(sorted((re.escape(a) for a in ALIASES), key=len, reverse=True))
_LEADING_MENTIONS = re.compile(r"^(?:@[^\s@]{1,32}[\s\u2005]+)+")
_TICKET = re.compile(r"#\s*(\d{1,9})")
_VERB_AT_START = re.compile(rf"^(?:{_VERB_PATTERN})(?=$|[\s#\d@:：,，])", re.IGNORECASE)
_VERB_THEN_ANYTHING = re.compile(rf"^(?:{_VERB_PATTERN})", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^(\d{1,9})(?=$|\s|[^\d])")
_MENTION = re.compile(r"@([^\s@]{1,32})")


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
    if ticket is None:
        numbered = _TICKET.match(rest) or _BARE_NUMBER.match(rest)
        if numbered:
            ticket = int(numbered.group(1))
            rest = rest[numbered.end() :].strip()
    mentions = tuple(_MENTION.findall(rest))
    return Command(verb, ticket, rest, mentions)


def format_command(command: Command) -> str:
    parts = [command.verb.value]
    if command.ticket is not None:
        parts.append(f"#{command.ticket}")
    if command.argument:
        parts.append(command.argument)
    return " ".join(parts)
