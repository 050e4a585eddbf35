"""What linli says on a clock: reminders, escalations, auto-closing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.texts.names import when

STAGE_VERBS = {"accept": "接单", "resolve": "办结"}


def remind(ticket_id: int, stage: str, summary: str, group: str, deadline: datetime, *, overdue: bool) -> str:
    verb = STAGE_VERBS.get(stage, "处理")
    reply = f"“接单 #{ticket_id}”" if stage == "accept" else f"“办结 #{ticket_id} 说明”"
    if overdue:
        return (
            f"【逾期提醒】#{ticket_id}「{summary}」（{group}）已超过{verb}时限 {when(deadline)}，"
            f"请尽快回复{reply}，否则将上报上一级网格。"
        )
    return f"【提醒】#{ticket_id}「{summary}」（{group}）请于 {when(deadline)} 前{verb}，回复{reply}。"


def group_nudge(name: str, ticket_id: int, stage: str, deadline: datetime, *, overdue: bool) -> str:
    verb = STAGE_VERBS.get(stage, "处理")
    if overdue:
        return f"@{name} #{ticket_id} 已超过{verb}时限（{when(deadline)}），请尽快跟进。"
    return f"@{name} #{ticket_id} 请于 {when(deadline)} 前{verb}。"


def escalated(
    ticket_id: int,
    summary: str,
    group: str,
    assignee: str,
    stage: str,
    deadline: datetime | None,
    *,
    assignee_left: bool,
) -> str:
    if assignee_left:
        why = f"责任人 {assignee} 已不在岗"
        ask = "请安排接手"
    else:
        verb = STAGE_VERBS.get(stage, "处理")
        limit = f"（{when(deadline)}）" if deadline is not None else ""
        why = f"责任人 {assignee} 超过{verb}时限{limit}仍未{verb}"
        ask = "请督办"
    return f"【逾期上报】#{ticket_id}「{summary}」（{group}）{why}，{ask}。"


def history_note(action: str, stage: str, names: Sequence[str], reason: str = "") -> str:
    verb = STAGE_VERBS.get(stage, stage)
    who = "、".join(names) if names else "（无人可通知）"
    label = "提醒" if action == "remind" else "上报"
    return f"{verb}{label} → {who}{'：' + reason if reason else ''}"


def auto_closed(ticket_id: int) -> str:
    return f"#{ticket_id} 办结后没有收到异议，已自动关闭。如仍有问题，请重新反映。"


def escalation_reason(*, left: bool) -> str:
    return "责任人已不在岗" if left else "逾期"
