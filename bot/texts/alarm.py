"""The two alarm tiers: what the reporter, the accountable leader and the grid are told about a ``check``
(possible danger to a person: someone must look now) and about an urgent ticket."""

from __future__ import annotations

from collections.abc import Sequence

from bot.texts.names import mention, people_list


def emergency_advice(
    fire: str, medical: str, police: str, duty: str, *, gas: str | None = None, lift: str | None = None
) -> str:
    """The numbers to call; the gas and lift lines only when the report is about gas or a lift."""
    lines = [f"火警 {fire}", f"急救 {medical}", f"报警 {police}"]
    if gas:
        lines.append(f"燃气泄漏请拨 {gas}（勿开关电器）")
    if lift:
        lines.append(f"电梯困人请拨 {lift}，按警铃等待救援，切勿扒门")
    return f"情况紧急请先保证安全：{'，'.join(lines)}，社区值班电话 {duty}。"


def ack_check(reporter: str, ticket_id: int, summary: str, leader: tuple[str, str], police: str, medical: str) -> str:
    """The reporter's acknowledgement of a check: someone is being asked to look now."""
    who = people_list([leader])
    return (
        f"{mention(reporter)}已记录 #{ticket_id}「{summary}」，已请{who} 马上去看看，请留意群消息。"
        f"如果情况危急，请直接拨打 {police} 或 {medical}。"
    )


def verify_request(ticket_id: int, summary: str, group: str, reporter: str, minutes: int) -> str:
    """The accountable leader's direct message: verify now, answer in one step."""
    return (
        f"【请马上核实】#{ticket_id}「{summary}」（{group}，{reporter} 反映）可能有人身危险，"
        f"请马上去看看或联系反映人。核实后请回复：\n"
        f"“确认紧急 #{ticket_id}”：马上通知各级网格\n"
        f"“不紧急 #{ticket_id}”：按一般事项办理\n"
        f"{minutes} 分钟内没有回复，将按紧急处理。"
    )


def urgent_notice(ticket_id: int, summary: str, group: str, reporter: str, assignee: str, reason: str) -> str:
    """To everyone on the grid above the assignee when a ticket becomes urgent after it was opened."""
    return f"【紧急】#{ticket_id}「{summary}」（{group}，{reporter} 反映）{reason}，责任人 {assignee}，请立即关注。"


def reason_confirmed(by: str) -> str:
    return f"经 {by} 核实情况紧急"


def reason_unanswered(minutes: int) -> str:
    return f"{minutes} 分钟内未收到核实回复，已按紧急处理"


def reason_corrected(by: str) -> str:
    return f"由 {by} 改为紧急"


def unanswered_to_assignee(ticket_id: int, summary: str, minutes: int) -> str:
    return (
        f"【紧急】#{ticket_id}「{summary}」{minutes} 分钟内未收到您的核实回复，已按紧急处理并通知各级网格。"
        f"请尽快回复“接单 #{ticket_id}”；如核实不紧急，请回复“不紧急 #{ticket_id}”。"
    )


def confirmed_to_assignee(ticket_id: int, summary: str, by: str) -> str:
    return f"【紧急】#{ticket_id}「{summary}」经 {by} 核实情况紧急，已通知各级网格，请尽快回复“接单 #{ticket_id}”。"


def told_list(notified: Sequence[tuple[str, str]]) -> str:
    return people_list(notified) if notified else "社区工作人员"


def check_confirmed(ticket_id: int, by: str, notified: Sequence[tuple[str, str]]) -> str:
    return f"#{ticket_id} 经 {by} 核实情况紧急，已通知{told_list(notified)}。"


def check_unanswered(ticket_id: int, notified: Sequence[tuple[str, str]]) -> str:
    return f"#{ticket_id} 已按紧急情况处理，已通知{told_list(notified)}。"


def check_dismissed(ticket_id: int, by: str) -> str:
    return f"#{ticket_id} 经 {by} 核实暂无危险，会按一般事项跟进，谢谢大家关心。"


def stand_down(ticket_id: int, summary: str, by: str) -> str:
    """To the grid that was alarmed when nobody answered in time, once the leader finds no danger."""
    return f"#{ticket_id}「{summary}」经 {by} 核实暂无危险，已取消紧急，按一般事项办理。"


def check_settled(ticket_id: int, state: str) -> str:
    """The answer to a check that was already answered (by someone else, or by the clock)."""
    if state == "unanswered":
        return f"#{ticket_id} 已超过核实时间，已按紧急处理，各级网格已收到通知。"
    if state == "confirmed":
        return f"#{ticket_id} 已确认为紧急，各级网格已收到通知。"
    if state == "dismissed":
        return f"#{ticket_id} 已核实为不紧急。"
    return f"#{ticket_id} 已办结，无需再核实。"


def already_urgent(ticket_id: int) -> str:
    return f"#{ticket_id} 已按紧急处理，各级网格已收到通知。"


def not_urgent_already(ticket_id: int) -> str:
    return f"#{ticket_id} 目前不是紧急事项，无需更改。"
