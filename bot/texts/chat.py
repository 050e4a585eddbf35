"""What linli says in chat: acknowledgements, notices to the grid, answers to commands."""

from __future__ import annotations

from collections.abc import Sequence

from bot.texts.names import mention, people_list
from nlp.command import COMMANDS, Audience, Verb


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


def new_task(ticket_id: int, kind: str, urgent: bool, group: str, reporter: str, summary: str) -> str:
    level = "【紧急】" if urgent else ("【大事】" if kind == "major" else "")
    return (
        f"{level}新任务 #{ticket_id}：{summary}（{group}，{reporter} 反映）。"
        f"请回复“接单 #{ticket_id}”，处理完回复“办结 #{ticket_id} 说明”。"
    )


def major_notice(ticket_id: int, urgent: bool, group: str, reporter: str, summary: str, assignee: str) -> str:
    level = "【紧急】" if urgent else "【大事】"
    return f"{level}#{ticket_id} {summary}（{group}，{reporter} 反映），责任人 {assignee}，请关注。"


def repeated() -> str:
    return "您的消息已收到，请勿重复发送。"


def mention_text(name: str, text: str) -> str:
    return mention(name) + text


def no_leader(ticket_id: int) -> str:
    return f"#{ticket_id} 所在楼栋暂未配置楼长，已转社区统一处理。"


USAGE: dict[Verb, str] = {
    Verb.PROGRESS: "进度 #编号：查看办理进度（不带编号查看您反映的事）",
    Verb.RATE: "评价 #编号 满意/不满意 或 1-5 分",
    Verb.WITHDRAW: "撤销 #编号：撤回您反映的事",
    Verb.HELP: "帮助：查看这份说明",
    Verb.ACCEPT: "接单 #编号",
    Verb.RESOLVE: "办结 #编号 说明",
    Verb.TRANSFER: "转派 #编号 @某人",
    Verb.ESCALATE: "升级 #编号",
    Verb.REJECT: "不受理 #编号 理由",
    Verb.DISPATCH: "派单 #编号 共建单位",
    Verb.CONFIRM_URGENT: "确认紧急 #编号",
    Verb.NOT_URGENT: "不紧急 #编号",
    Verb.URGENT: "紧急 #编号",
    Verb.MAKE_MAJOR: "改为大事 #编号",
    Verb.MAKE_TRIVIAL: "改为小事 #编号",
    Verb.NOT_AN_ISSUE: "不是问题 #编号",
    Verb.CHANGE_DOMAIN: "改领域 #编号 服务领域",
    Verb.MINE: "我的任务",
    Verb.TODO: "待办",
    Verb.POINTS: "积分",
    Verb.RANKING: "排行",
    Verb.BIND: "绑定 楼栋或小区名：把本群绑定到网格",
    Verb.AGREE: "同意：户表决时投同意票（也可回 1；可加房号，如“同意 301”）",
    Verb.OPPOSE: "反对：投反对票（也可回 2）",
    Verb.ABSTAIN: "弃权：投弃权票（也可回 3）",
    Verb.VOTE_COUNT: "表决结果 #编号：查看户表决进展",
    Verb.MAILBOX: "信箱 内容：给楼长写建议（私信我发更好）",
    Verb.ANONYMOUS: "匿名建议 内容：请私信我，楼长看不到您是谁",
    Verb.ANSWER: "回复建议 #S编号 内容",
    Verb.COUNCIL_ADD: "上会 #编号 或 #S编号",
    Verb.PROPOSE: "提议 #编号 内容",
    Verb.CONSULT: "商议 #编号 纪要",
    Verb.REVIEW: "审议 #编号 意见",
    Verb.DECIDE: "决议 #编号 决议内容",
    Verb.PUBLISH_DECISION: "公开决议 #编号",
    Verb.PUBLISH_RESULT: "公开结果 #编号 实施结果",
    Verb.START_VOTE: "发起表决 #编号 标题 截止 2026-12-20",
}
"""How each command is written, as help shows it (every verb of ``nlp.command.COMMANDS`` has one)."""

HELP_HEADINGS = {
    Audience.RESIDENT: "邻里助手可以帮您：\n· 在群里直接说遇到的问题，我会登记并通知楼长",
    Audience.GRID: "楼长常用命令：",
    Audience.COMMITTEE: "社区党委：",
    Audience.COUNCIL: "党群议事会（四议两公开）：",
}


def help_text(audiences: Sequence[Audience]) -> str:
    """The commands for these audiences, in the order of ``COMMANDS``: residents' one a line, the rest compact."""
    sections = []
    for audience in audiences:
        usages = [USAGE[spec.verb] for spec in COMMANDS if spec.audience is audience]
        if audience is Audience.RESIDENT:
            lines = [f"· {usage}" for usage in usages]
        else:
            lines = ["· " + " · ".join(usages[i : i + 4]) for i in range(0, len(usages), 4)]
        sections.append("\n".join([HELP_HEADINGS[audience], *lines]))
    return "\n".join(sections)


def not_found(ticket_id: int) -> str:
    return f"没有找到 #{ticket_id}，请核对编号。"


def need_number(verb: str) -> str:
    return f"请带上工单编号，例如“{verb} #12”。"


def not_allowed(ticket_id: int, verb: str) -> str:
    return f"抱歉，#{ticket_id} 只能由责任人或上级网格{verb}。"


def not_yours(ticket_id: int) -> str:
    return f"抱歉，#{ticket_id} 不是您反映的事，只有反映人可以操作。"


def illegal(ticket_id: int, state_title: str, verb: str) -> str:
    return f"#{ticket_id} 目前{state_title}，不能{verb}。"


def accepted(ticket_id: int, leader: str, summary: str) -> str:
    return f"#{ticket_id}「{summary}」已由 {leader} 接单，正在处理。"


def resolved(ticket_id: int, leader: str, note: str) -> str:
    detail = f"：{note}" if note else ""
    return f"#{ticket_id} 已由 {leader} 办结{detail}。请反映人回复“评价 #{ticket_id} 满意”或“不满意”，也可以打 1-5 分。"


def transferred(ticket_id: int, old: str, new: str) -> str:
    return f"#{ticket_id} 已由 {old} 转派给 {new}。"


def transfer_target_unknown(name: str) -> str:
    return f"没有找到“{name}”，请 @ 网格里的楼长或书记。"


def transfer_needs_target(ticket_id: int) -> str:
    return f"请 @ 要转派的人，例如“转派 #{ticket_id} @何秀英”。"


def new_assignment(ticket_id: int, by: str, summary: str) -> str:
    return f"{by} 把 #{ticket_id}「{summary}」转给您，请回复“接单 #{ticket_id}”。"


def escalated(ticket_id: int, level: str, names: str) -> str:
    return f"#{ticket_id} 已升级到{level}（{names}），原责任人继续跟进。"


def escalation_notice(ticket_id: int, summary: str, by: str, assignee: str) -> str:
    return f"【升级】#{ticket_id}「{summary}」由 {by} 升级，责任人 {assignee}，请协调处理。"


def no_higher_level(ticket_id: int) -> str:
    return f"#{ticket_id} 已在最高一级网格，无法再升级。"


def rejected(ticket_id: int, reason: str) -> str:
    return f"#{ticket_id} 不予受理，理由：{reason}。如有疑问请联系社区。"


def reject_needs_reason(ticket_id: int) -> str:
    return f"请写明不受理的理由，例如“不受理 #{ticket_id} 属于私人纠纷，已建议调解”。"


def withdrawn(ticket_id: int) -> str:
    return f"#{ticket_id} 已按您的要求撤销。"


def unreported(ticket_id: int) -> str:
    return f"好的，您已不再是 #{ticket_id} 的反映人；其他街坊反映的这件事会继续处理。"


def withdrawn_notice(ticket_id: int, who: str) -> str:
    return f"#{ticket_id} 已被反映人 {who} 撤销，无需再处理。"


def progress_line(ticket_id: int, summary: str, state: str, assignee: str) -> str:
    return f"#{ticket_id}「{summary}」：{state}，责任人 {assignee}"


def nothing_open() -> str:
    return "您目前没有在办的事项。"


def task_list(title: str, lines: list[str]) -> str:
    return title + "\n" + "\n".join(lines) if lines else f"{title}\n暂无。"


def rated(ticket_id: int, score: int) -> str:
    return f"谢谢您的评价（{score} 分），#{ticket_id} 已关闭。"


def rating_recorded(ticket_id: int, score: int, hours: int) -> str:
    return (
        f"谢谢您的评价（{score} 分），已记录。#{ticket_id} 由多户反映，"
        f"待其他反映人评价后关闭，{hours} 小时内无异议也会自动关闭。"
    )


def rated_badly(ticket_id: int) -> str:
    return f"抱歉没有让您满意，#{ticket_id} 已重新打开，楼长会再跟进。"


def bad_rating_notice(ticket_id: int, summary: str, score: int) -> str:
    return f"#{ticket_id}「{summary}」反映人评价 {score} 分，已重新打开，请再跟进。"


def rating_invalid() -> str:
    return "评价请用“满意”“不满意”或 1-5 分，例如“评价 #12 5”。"


def rating_not_ready(ticket_id: int) -> str:
    return f"#{ticket_id} 还没有办结，办结后再请您评价。"


def merged_report(reporter: str, ticket_id: int, households: int) -> str:
    return f"{mention(reporter)}已有 #{ticket_id} 在处理同一件事，已把您记为反映人（共 {households} 户）。"


def became_major(ticket_id: int, households: int, summary: str) -> str:
    return f"【大事】#{ticket_id}「{summary}」已有 {households} 户反映，转为大事，请关注。"


def bound(group: str, unit: str) -> str:
    return f"本群“{group}”已绑定到 {unit}，以后群里反映的事会派给对应楼长。"


def bind_unknown(name: str) -> str:
    return f"没有找到“{name}”，请写楼栋或小区的名称，例如“绑定 时代城3栋”。"


def bind_not_allowed() -> str:
    return "抱歉，只有社区党委成员可以绑定群。"


def already_bound(group: str, unit: str) -> str:
    return f"本群“{group}”已绑定到 {unit}。"


def points_of(name: str, total: int) -> str:
    return f"{name} 目前积分 {total} 分。"


def ranking(lines: list[str]) -> str:
    return "楼长积分排行：\n" + "\n".join(lines) if lines else "暂无积分记录。"


def photo_attached(ticket_id: int) -> str:
    return f"照片已附在 #{ticket_id}，谢谢。"


def voice_reply(name: str) -> str:
    return f"{mention(name)}收到您的语音，麻烦用几个字写一下是什么事、在哪里，方便登记处理，谢谢！"


def dispatched(ticket_id: int, unit: str, contact: str) -> str:
    return f"#{ticket_id} 已派单给共建单位 {unit}（{contact}）。"


def dispatch_task(ticket_id: int, summary: str, group: str, by: str) -> str:
    return f"【共建派单】#{ticket_id}「{summary}」（{group}），由 {by} 派单，请回复“接单 #{ticket_id}”。"


def dispatch_hint(ticket_id: int, unit: str, resource: str) -> str:
    return f"可派单给共建单位 {unit}（{resource}）：回复“派单 #{ticket_id} {unit}”。"


def dispatch_unknown(name: str) -> str:
    return f"没有找到共建单位“{name}”。"


def dm_hint() -> str:
    return "您好，我是邻里助手。遇到问题请在楼栋群里说，我会登记并通知楼长；回复“帮助”查看可用命令。"


COMMUNITY = "社区"
"""Who is accountable when nobody on the grid is named."""
CONTACT_UNKNOWN = "联系人待定"
UNASSIGNED = "（未指派）"


def grid_only() -> str:
    return "这个命令是给楼长和网格工作人员用的；查看您反映的事请发“进度”。"


MY_TASKS = "我的任务："
TODO = "待办："
STAFF = "社区工作人员"
"""Who acted, when staff act from the command line without naming themselves."""
