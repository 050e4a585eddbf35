"""The weekly digest: a short summary for each group, the committee's full text, the chart titles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.texts.names import TIER_TITLES, mask_personal, minutes, rate

WEEKDAYS = "一二三四五六日"


def span(first: date, last: date) -> str:
    return f"{first.month}月{first.day}日—{last.month}月{last.day}日"


def day_label(day: date) -> str:
    return f"{day.month}/{day.day} 周{WEEKDAYS[day.weekday()]}"


def chart_titles(community: str, week: str) -> tuple[str, str]:
    """(by service area, opened and resolved per day)."""
    return f"{community} {week} 各服务领域工单数", f"{community} {week} 每日新反映与办结"


def group_summary(
    name: str, week: str, new: int, accepted: int, resolved: int, acceptance: float | None, resolution: float | None
) -> str:
    if new == 0:
        text = f"【一周小结 {week}】{name}：这一周没有新的反映事项，感谢街坊们的支持！"
    else:
        text = (
            f"【一周小结 {week}】{name}：新反映 {new} 件，已接单 {accepted} 件，已办结 {resolved} 件，"
            f"受理率 {rate(acceptance)}，办结率 {rate(resolution)}。有事请继续在群里反映。"
        )
    return mask_personal(text)


@dataclass(frozen=True)
class UnitLine:
    name: str
    new: int
    accepted: int
    resolved: int
    overdue: int


@dataclass(frozen=True)
class CommitteeDigest:
    """What the committee's digest says, as figures; ``committee_markdown`` words it."""

    community: str
    week: str
    span: str
    new: int
    accepted: int
    resolved: int
    acceptance: float | None
    resolution: float | None
    median_accept_minutes: float | None
    median_resolve_minutes: float | None
    overdue: int
    by_domain: Mapping[str, int]
    overdue_items: Sequence[tuple[int, str, str]]
    """(ticket id, summary, where)."""
    units: Sequence[UnitLine]
    units_left_out: int
    satisfaction: float | None
    points: Sequence[tuple[str, int, int]]
    """(name, points, gained this week), highest first."""
    extra: Sequence[str] = ()
    """Further sections, as Markdown lines (the residents' voice: suggestions, the month's needs)."""
    corrected: int = 0
    confusions: Sequence[tuple[str, str, str, int]] = ()
    """(what: tier or domain, from, to, count), most common first."""


def confusion(what: str, before: str, after: str, count: int) -> str:
    """小事→大事 ×3, 安全管理→环境卫生 ×1."""
    if what == "tier":
        before, after = TIER_TITLES.get(before, before), TIER_TITLES.get(after, after)
    return f"{before}→{after} ×{count}"


def committee_markdown(d: CommitteeDigest) -> str:
    """The committee's full digest as Markdown (``digest.md``); phone numbers masked."""
    lines = [
        f"# {d.community} 周报 {d.week}（{d.span}）",
        "",
        f"- 新反映 {d.new} 件；已接单 {d.accepted} 件，受理率 {rate(d.acceptance)}；"
        f"已办结 {d.resolved} 件，办结率 {rate(d.resolution)}",
        f"- 接单用时中位数 {minutes(d.median_accept_minutes)}；办结用时中位数 {minutes(d.median_resolve_minutes)}",
        f"- 逾期 {d.overdue} 件",
        "",
        "## 服务领域",
    ]
    lines += [f"- {name} {n} 件" for name, n in d.by_domain.items()] or ["- 本周无新反映"]
    lines += ["", "## 逾期事项"]
    lines += [f"- #{tid}「{summary}」（{where}）" for tid, summary, where in d.overdue_items] or ["- 无"]
    lines += ["", "## 各网格"]
    lines += [f"- {u.name}：新 {u.new} / 接单 {u.accepted} / 办结 {u.resolved} / 逾期 {u.overdue}" for u in d.units]
    if d.units_left_out:
        lines.append(f"- 其余 {d.units_left_out} 个网格从略")
    score = f"{d.satisfaction:.2f} 分（满分 5 分）" if d.satisfaction is not None else "本周暂无评价"
    lines += ["", "## 居民满意度", f"- {score}"]
    lines += ["", "## 分类更正"]
    if d.corrected:
        lines.append(f"- 网格更正了 {d.corrected} 件工单的分类")
        lines += [f"- {confusion(*c)}" for c in d.confusions]
    else:
        lines.append("- 本周没有更正")
    lines += ["", "## 楼长积分"]
    lines += [f"{rank}. {name} {points} 分（本周 {week:+d}）" for rank, (name, points, week) in enumerate(d.points, 1)]
    if not d.points:
        lines.append("- 暂无")
    lines += d.extra
    return mask_personal("\n".join(lines)) + "\n"
