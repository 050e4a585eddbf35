"""Every sentence linli says to people, in short polite simplified Chinese."""

from __future__ import annotations

from collections.abc import Sequence

ROLE_TITLES = {
    "building_leader": "楼长",
    "branch_secretary": "小区党支部书记",
    "committee": "社区党委",
    "resident": "居民",
}

KIND_TITLES = {"noise": "闲聊", "trivial": "小事", "major": "大事"}

SUMMARY_CHARS = 40


def summarise(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


def mention(name: str) -> str:
    return f"@{name} " if name else ""


def people_list(titled: Sequence[tuple[str, str]]) -> str:
    """[("楼长", "李杏珊"), ("社区党委", "陈志华")] -> "楼长 李杏珊、社区党委 陈志华"."""
    return "、".join(f"{title} {name}" for title, name in titled)


def ack_report(
    reporter: str,
    ticket_id: int,
    summary: str,
    notified: Sequence[tuple[str, str]],
    *,
    major: bool,
) -> str:
    who = people_list(notified) if notified else "社区工作人员"
    tail = "已列入大事跟进，会尽快给大家答复。" if major else "会尽快处理，请留意群消息。"
    return f"{mention(reporter)}已记录 #{ticket_id}「{summary}」，已通知{who}，{tail}"


def emergency_advice(fire: str, medical: str, police: str, gas: str, duty: str) -> str:
    return (
        f"情况紧急请先保证安全：火警 {fire}，急救 {medical}，报警 {police}，"
        f"燃气泄漏请拨 {gas}（勿开关电器），社区值班电话 {duty}。"
    )


def new_task(ticket_id: int, kind: str, urgent: bool, group: str, reporter: str, summary: str) -> str:
    level = "【紧急】" if urgent else ("【大事】" if kind == "major" else "")
    return (
        f"{level}新任务 #{ticket_id}：{summary}（{group}，{reporter} 反映）。"
        f"请回复“接单 #{ticket_id}”，处理完回复“办结 #{ticket_id} 说明”。"
    )


def major_notice(ticket_id: int, urgent: bool, group: str, reporter: str, summary: str, assignee: str) -> str:
    level = "【紧急】" if urgent else "【大事】"
    return f"{level}#{ticket_id} {summary}（{group}，{reporter} 反映），责任人 {assignee}，请关注。"


def no_leader(ticket_id: int) -> str:
    return f"#{ticket_id} 所在楼栋暂未配置楼长，已转社区统一处理。"
