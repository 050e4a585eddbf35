"""What linli says on a clock: reminders, escalations, weekly digests and the council agenda."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

STAGE_VERBS = {"accept": "接单", "resolve": "办结"}
CUT_SHORT = "……（篇幅所限，以下从略）"
"""Ends a text cut to fit a platform that takes one message of limited size (never WeCom, which splits)."""

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{3,4})[\s-]?(\d{4})(?!\d)")
_LONG_DIGITS = re.compile(r"(?<!\d)(\d{3})\d{4,}(\d{2})(?!\d)")


def mask_personal(text: str) -> str:
    """Hide phone numbers (and other long digit runs such as ID numbers): 13800000001 -> 138****0001."""
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return _LONG_DIGITS.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def when(local: datetime) -> str:
    return f"{local.month}月{local.day}日 {local:%H:%M}"


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


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.0f} 分钟"
    if value < 48 * 60:
        return f"{value / 60:.1f} 小时"
    return f"{value / 1440:.1f} 天"


def digest_group(
    name: str, week: str, new: int, accepted: int, resolved: int, acceptance: float | None, resolution: float | None
) -> str:
    if new == 0:
        return f"【一周小结 {week}】{name}：这一周没有新的反映事项，感谢街坊们的支持！"
    return (
        f"【一周小结 {week}】{name}：新反映 {new} 件，已接单 {accepted} 件，已办结 {resolved} 件，"
        f"受理率 {rate(acceptance)}，办结率 {rate(resolution)}。有事请继续在群里反映。"
    )


def digest_title(community: str, week: str) -> str:
    return f"# {community} 周报 {week}"


def council_agenda(community: str, meeting: datetime, items: Sequence[tuple[int, str, str, str]]) -> str:
    """items: (ticket id, summary, where, state title)."""
    head = f"【党群议事会议程】{community} {when(meeting)} 议事会，待议大事 {len(items)} 件："
    if not items:
        return f"【党群议事会议程】{community} {when(meeting)} 议事会：暂无待议大事。"
    lines = [f"{i}. #{tid}「{summary}」（{where}，{state}）" for i, (tid, summary, where, state) in enumerate(items, 1)]
    return "\n".join([head, *lines])


STATE_TITLES = {
    "open": "待派单",
    "assigned": "待接单",
    "accepted": "处理中",
    "escalated": "已上报",
    "reopened": "重新处理",
    "resolved": "已办结",
    "closed": "已关闭",
    "merged": "已合并",
    "rejected": "不予受理",
    "withdrawn": "已撤回",
}
