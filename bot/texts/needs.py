"""Monthly needs (需求清单): the question to every group, answers to replies, the lists and the quarterly summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.texts.names import mask_personal, when


def ask(group: str, until: datetime) -> str:
    return (
        f"【每月需求征集】{group}的街坊们好！本月有什么需要社区帮忙的？直接在群里说就行（{when(until)}前），"
        "我们会整理进需求清单，对接共建单位的资源。"
    )


def noted() -> str:
    return "已记入本月需求清单，谢谢！"


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


@dataclass(frozen=True)
class Entry:
    """One line of the 需求清单: a reply to a needs round or a ticket, and the resources it matches."""

    source: str
    """``need`` (a reply to the monthly question) or ``ticket`` (a report)."""
    ref: int
    where: str
    domain: str
    text: str
    ticket: int | None
    matches: tuple[str, ...]
    """``单位：资源`` of co-building units whose resources match."""


def entry_line(e: Entry) -> str:
    ticket = f" #{e.ticket}" if e.ticket is not None else ""
    match = f" → 可对接：{'、'.join(e.matches)}" if e.matches else ""
    return mask_personal(f"[{e.domain}]{ticket}「{e.text}」（{e.where}）{match}")


def digest_section(month: str, by_domain: Sequence[tuple[str, int]], matched: int, total: int) -> list[str]:
    lines = ["", f"## 本月需求（{month_label(month)}）"]
    if not total:
        return [*lines, "- 暂无"]
    lines.append(f"- 共 {total} 条，其中 {matched} 条可对接共建单位资源")
    lines += [f"- {domain} {n} 条" for domain, n in by_domain]
    return lines


def suggestions_section(received: int, answered: int, overdue: int) -> list[str]:
    return ["", "## 楼长信箱", f"- 本周收到建议 {received} 条，已回复 {answered} 条；逾期未回复 {overdue} 条"]


def quarter_title(community: str, quarter: str) -> str:
    return f"{community} {quarter} 需求清单"


def quarter_markdown(
    community: str,
    quarter: str,
    span: tuple[datetime, datetime],
    by_domain: Sequence[tuple[str, int]],
    entries: Sequence[Entry],
    resources: Sequence[tuple[str, str, str]],
    services: Sequence[tuple[int, str, str, str]],
) -> str:
    """The quarterly summary for the joint meeting of co-building units (季度联席会议).

    resources: (unit, resource, domain); services: (ticket, summary, unit, state title)."""
    first, last = span
    lines = [
        f"# {quarter_title(community, quarter)}（{when(first)}—{when(last)}）",
        "",
        f"- 需求 {len(entries)} 条，其中 {sum(1 for e in entries if e.matches)} 条可对接共建单位资源",
        f"- 已派给共建单位 {len(services)} 件",
        "",
        "## 各服务领域",
    ]
    lines += [f"- {domain} {n} 条" for domain, n in by_domain] or ["- 暂无"]
    lines += ["", "## 需求与可对接资源"]
    lines += [f"- {entry_line(e)}" for e in entries] or ["- 暂无"]
    lines += ["", "## 资源清单"]
    lines += [f"- {unit}：{name}（{domain}）" for unit, name, domain in resources] or ["- 暂无"]
    lines += ["", "## 服务清单"]
    lines += [f"- #{tid}「{summary}」→ {unit}，{state}" for tid, summary, unit, state in services] or ["- 暂无"]
    return mask_personal("\n".join(lines)) + "\n"
