"""The 党群议事会 (residents' council): items through 四议两公开, their publication, and the agenda."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.texts.names import mask_personal, state_title, when
from bot.texts.votes import until

STEP_TITLES = {
    "proposal": "提议",
    "consultation": "商议",
    "review": "审议",
    "resolution": "决议",
    "resolution_published": "决议公开",
    "result_published": "结果公开",
}
"""The steps of 四议两公开, as they are written in chat, the agenda and the record."""

STEP_BODIES = {
    "proposal": "党支部提议",
    "consultation": "两委会商议",
    "review": "党员大会审议",
    "resolution": "居民代表会议决议",
    "resolution_published": "公开决议",
    "result_published": "公开实施结果",
}

STEP_VERBS = {
    "proposal": "提议",
    "consultation": "商议",
    "review": "审议",
    "resolution": "决议",
    "resolution_published": "公开决议",
    "result_published": "公开结果",
}
"""The chat command that records each step (nlp.command's verbs)."""

STEP_EXAMPLES = {
    "proposal": "提议内容",
    "consultation": "商议纪要",
    "review": "审议意见",
    "resolution": "决议内容",
    "resolution_published": "",
    "result_published": "实施结果",
}

ROLE_NAMES = {
    "committee": "社区党委",
    "branch_secretary": "小区党支部书记",
    "building_leader": "楼长",
    "resident": "居民",
    "party_meeting": "党员大会记录人",
    "representatives": "居民代表",
}

PROGRESS = {
    None: "待党支部提议",
    "proposal": "已提议，待两委会商议",
    "consultation": "已商议，待党员大会审议",
    "review": "已审议，待居民代表会议决议",
    "resolution": "已决议，待公开决议",
    "resolution_published": "决议已公开，待公开实施结果",
    "result_published": "结果已公开",
}


def progress(stage: str | None) -> str:
    return PROGRESS.get(stage, stage or "")


def who(roles: Sequence[str]) -> str:
    return "或".join(ROLE_NAMES.get(r, r) for r in roles)


def hint(ticket_id: int, step: str) -> str:
    """How to record ``step``: “商议 #12 商议纪要”."""
    example = STEP_EXAMPLES[step]
    return f"“{STEP_VERBS[step]} #{ticket_id}{' ' + example if example else ''}”"


def added(ticket_id: int, title: str, next_step: str) -> str:
    step = STEP_BODIES[next_step]
    return f"#{ticket_id}「{title}」已列入党群议事会议题。下一步：{step}，请回复{hint(ticket_id, next_step)}。"


def added_in_group(ticket_id: int, title: str) -> str:
    return f"#{ticket_id}「{title}」已提交党群议事会，大家共商共议，决议和结果都会在群里公开。"


def step_notice(ticket_id: int, title: str, done: str | None, by: str, next_step: str) -> str:
    """To whoever records the next step."""
    head = f"【议事】#{ticket_id}「{title}」"
    did = f"已由 {by} {STEP_TITLES[done]}" if done else f"已由 {by} 提交议事会"
    return f"{head}{did}，下一步：{STEP_BODIES[next_step]}。请回复{hint(ticket_id, next_step)}。"


def recorded(ticket_id: int, step: str, next_step: str | None) -> str:
    done = f"已记录 #{ticket_id} 的{STEP_TITLES[step]}。"
    if next_step is None:
        return done + "本议题已走完四议两公开。"
    return done + f"下一步：{STEP_BODIES[next_step]}（{hint(ticket_id, next_step)}）。"


def resolution_public(ticket_id: int, title: str, resolution: str) -> str:
    return mask_personal(
        f"【决议公开】#{ticket_id}「{title}」经党支部提议、两委会商议、党员大会审议、居民代表会议决议：{resolution}"
        f"。如有意见，请联系楼长或社区。"
    )


def result_public(ticket_id: int, title: str, result: str) -> str:
    return mask_personal(f"【结果公开】#{ticket_id}「{title}」决议落实情况：{result}。本事项已办结，感谢街坊们参与！")


def not_major(ticket_id: int) -> str:
    return f"#{ticket_id} 是小事，由楼长和街坊会跟进；只有大事需要上会。"


def not_open(ticket_id: int, state: str) -> str:
    return f"#{ticket_id} 目前{state_title(state)}，不能上会。"


def already_item(ticket_id: int, stage: str | None) -> str:
    return f"#{ticket_id} 已是议事会议题（{progress(stage)}）。"


def not_item(ticket_id: int) -> str:
    return f"#{ticket_id} 还不是议事会议题：请社区党委先回复“上会 #{ticket_id}”。"


def out_of_order(ticket_id: int, stage: str | None, next_step: str) -> str:
    return (
        f"#{ticket_id} 目前{progress(stage)}，四议两公开要按顺序来，"
        f"下一步是{STEP_BODIES[next_step]}（{hint(ticket_id, next_step)}）。"
    )


def finished(ticket_id: int) -> str:
    return f"#{ticket_id} 的议事已结束，结果已公开。"


def not_your_step(ticket_id: int, step: str, roles: Sequence[str]) -> str:
    return f"抱歉，#{ticket_id} 的{STEP_TITLES[step]}须由{who(roles)}记录。"


def not_allowed_add(roles: Sequence[str]) -> str:
    return f"抱歉，上会须由{who(roles)}提出。"


def needs_text(ticket_id: int, step: str) -> str:
    return f"请写上{STEP_EXAMPLES[step]}，例如{hint(ticket_id, step)}。"


def vote_running(ticket_id: int, deadline: datetime) -> str:
    return f"#{ticket_id} 的户表决还在进行（{until(deadline)} 截止），请表决结束后再决议。"


def needs_number() -> str:
    return "请带上工单编号或建议编号，例如“上会 #12”或“上会 #S3”。"


def no_group(ticket_id: int | str) -> str:
    return f"{ticket_id} 所在楼栋还没有绑定的群，无法上会公开；请先绑定群。"


def awaiting_council(ticket_id: int) -> str:
    return f"#{ticket_id} 是党群议事会议题，要等实施结果公开后才办结，现在不能这样操作。"


STAFF = "社区工作人员"


def agenda(
    community: str,
    meeting: datetime,
    items: Sequence[tuple[int, str, str, str | None]],
    waiting: Sequence[tuple[int, str, str, str]],
    left_out: int = 0,
) -> str:
    """items: council items (ticket id, title, where, stage); waiting: major tickets not on the council yet
    (ticket id, summary, where, ticket state); ``left_out`` more are not listed."""
    head = f"【党群议事会议程】{community} {when(meeting)} 议事会"
    if not items and not waiting:
        return f"{head}：暂无待议大事。"
    lines = [f"{head}："]
    if items:
        lines.append(f"议题 {len(items)} 件：")
        lines += [
            f"{i}. #{tid}「{title}」（{where}，{progress(stage)}）"
            for i, (tid, title, where, stage) in enumerate(items, 1)
        ]
    if waiting:
        lines.append(f"待议大事 {len(waiting) + left_out} 件：")
        lines += [
            f"{i}. #{tid}「{summary}」（{where}，{state_title(state)}）"
            for i, (tid, summary, where, state) in enumerate(waiting, 1)
        ]
    if left_out:
        lines.append(f"另有 {left_out} 件从略。")
    return mask_personal("\n".join(lines))
