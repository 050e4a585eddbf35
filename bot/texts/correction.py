"""Corrections from the grid (改为大事, 改为小事, 不是问题, 改领域, 紧急, 不紧急): the answers and notices."""

from __future__ import annotations

from collections.abc import Sequence

from bot.texts.alarm import told_list

WHAT = {
    "major": "大事",
    "trivial": "小事",
    "noise": "不需要处理的事",
    "urgent": "紧急",
    "not_urgent": "不紧急",
}
"""What each change makes of a ticket, as a phrase ("已把 #12 改为大事"); the service area is named instead."""


def what(change: str, domain: str = "") -> str:
    return f"服务领域“{domain}”" if change == "domain" else WHAT.get(change, change)


def already(ticket_id: int, change: str, domain: str = "") -> str:
    return f"#{ticket_id} 已经是{what(change, domain)}，无需更改。"


def recorded(ticket_id: int, change: str, domain: str = "") -> str:
    """A correction of a ticket that is already finished: only the record changes."""
    return f"已把 #{ticket_id} 记为{what(change, domain)}，谢谢，这能帮邻里助手以后分得更准。"


def corrected_major(ticket_id: int, by: str, notified: Sequence[tuple[str, str]], *, council: bool) -> str:
    agenda = "，并列入党群议事会待议事项" if council else ""
    return f"#{ticket_id} 已由 {by} 改为大事，已通知{told_list(notified)}{agenda}。"


def major_notice(ticket_id: int, summary: str, group: str, by: str, assignee: str) -> str:
    return f"【大事】#{ticket_id}「{summary}」（{group}）由 {by} 改为大事，责任人 {assignee}，请关注。"


def corrected_trivial(ticket_id: int) -> str:
    return f"已把 #{ticket_id} 改为小事，由责任人跟进。"


def corrected_noise(ticket_id: int, by: str) -> str:
    return f"#{ticket_id} 经 {by} 确认不需要处理，已关闭，谢谢反映。"


def corrected_domain(ticket_id: int, domain: str) -> str:
    return f"已把 #{ticket_id} 的服务领域改为 {domain}，办理时限按新领域计算。"


def corrected_urgent(ticket_id: int, by: str, notified: Sequence[tuple[str, str]]) -> str:
    return f"#{ticket_id} 已由 {by} 改为紧急，已通知{told_list(notified)}。"


def corrected_not_urgent(ticket_id: int, kind: str) -> str:
    return f"已取消 #{ticket_id} 的紧急标记，按{WHAT.get(kind, '一般事项')}跟进。"


def notice(ticket_id: int, summary: str, by: str, change: str, domain: str = "") -> str:
    """To the assignee, when someone else corrected their ticket."""
    return f"#{ticket_id}「{summary}」已由 {by} 改为{what(change, domain)}，请留意。"


def domain_needed(ticket_id: int) -> str:
    return f"请写上新的服务领域，例如“改领域 #{ticket_id} 环境卫生”。"


def unknown_domain(name: str, domains: Sequence[str]) -> str:
    return f"没有“{name}”这个服务领域，请从这几个里选一个：{'、'.join(domains)}。"
