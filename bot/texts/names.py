"""The shared vocabulary: names of roles, kinds and ticket states, and how people, times and rates are written.

``STATE_TITLES`` is the one table of state names: 进度, the digest, the council agenda, the ledger and every
export say the same word for the same state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

ROLE_TITLES = {
    "building_leader": "楼长",
    "branch_secretary": "小区党支部书记",
    "committee": "社区党委",
    "resident": "居民",
}

KIND_TITLES = {"noise": "闲聊", "trivial": "小事", "major": "大事"}
TIER_TITLES = {"noise": "不是问题", "trivial": "小事", "major": "大事", "urgent": "紧急"}
"""Kind and urgency as one scale, as corrections speak of them (小事→大事)."""

STATE_TITLES = {
    "open": "待派单",
    "assigned": "已派单，待接单",
    "accepted": "已接单，处理中",
    "resolved": "已办结，待评价",
    "closed": "已关闭",
    "escalated": "已升级",
    "merged": "已合并",
    "rejected": "不予受理",
    "withdrawn": "已撤销",
    "reopened": "重新处理",
}

SUMMARY_CHARS = 40

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{3,4})[\s-]?(\d{4})(?!\d)")
_LONG_DIGITS = re.compile(r"(?<!\d)(\d{3})\d{4,}(\d{2})(?!\d)")


def state_title(state: str) -> str:
    return STATE_TITLES.get(state, state)


def summarise(text: str) -> str:
    """A ticket's one-line summary: it travels to leaders, digests and exports, so numbers are masked."""
    flat = mask_personal(" ".join(text.split()))
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


def mention(name: str) -> str:
    return f"@{name} " if name else ""


def people_list(titled: Sequence[tuple[str, str]]) -> str:
    """[("楼长", "李杏珊"), ("社区党委", "陈志华")] -> "楼长 李杏珊、社区党委 陈志华"."""
    return "、".join(f"{title} {name}" for title, name in titled)


def mask_personal(text: str) -> str:
    """Hide ID-card and phone numbers (and other long digit runs): 13800000001 -> 138****0001,
    11010519491231002X -> 110***********002X."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}{'*' * 11}{m.group(2)}", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return _LONG_DIGITS.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def when(local: datetime) -> str:
    return f"{local.month}月{local.day}日 {local:%H:%M}"


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
