"""Household votes (一户一票): the call to vote, answers to ballots, the running count and the tally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from bot.texts.names import mask_personal, when

CHOICE_TITLES = {"agree": "同意", "oppose": "反对", "abstain": "弃权"}
_DIGITS = "零一二三四五六七八九十"


def until(local: datetime) -> str:
    """A deadline in local time; midnight is written as the end of the day before: 12月3日 24:00."""
    if (local.hour, local.minute) == (0, 0):
        before = local - timedelta(days=1)
        return f"{before.month}月{before.day}日 24:00"
    return when(local)


def share_words(fraction: Fraction, more_than: bool) -> str:
    """2/3 -> 三分之二以上; >1/2 -> 过半数; 3/4 -> 四分之三以上."""
    if fraction == Fraction(1, 2):
        return "过半数" if more_than else "半数以上"
    if fraction.denominator <= 10 and fraction.numerator <= 10:
        words = f"{_DIGITS[fraction.denominator]}分之{_DIGITS[fraction.numerator]}"
    else:
        words = f"{float(fraction) * 100:.0f}%"
    return f"超过{words}" if more_than else f"{words}以上"


def rule_text(owners: bool, turnout: tuple[Fraction, bool], approve: tuple[Fraction, bool], of_eligible: bool) -> str:
    who = "业主户" if owners else "住户"
    parts = []
    if turnout[0] > 0:
        parts.append(f"{share_words(*turnout)}的{who}参加")
    base = f"全部{who}" if of_eligible else "参加表决户数"
    parts.append(f"同意户数达{base}的{share_words(*approve)}")
    return "，且".join(parts)


def opened(ticket_id: int, title: str, deadline: datetime, rule: str, owners: bool, rooms_needed: bool) -> str:
    who = "各业主户" if owners else "各户"
    room = "表决时请注明房号，例如“同意 301”。" if rooms_needed else ""
    return mask_personal(
        f"【户表决】#{ticket_id}「{title}」请{who}回复“同意”“反对”或“弃权”（也可回 1、2、3），"
        f"一户一票，以最后一次为准；也可以私信我表决，个人意见不公开。{room}"
        f"{until(deadline)} 截止。通过条件：{rule}。"
    )


def started(ticket_id: int, deadline: datetime, groups: int) -> str:
    return f"#{ticket_id} 的户表决已发起，已在 {groups} 个群通知，{until(deadline)} 截止。"


def cast(room: str, replaced: bool) -> str:
    if replaced:
        return f"{room} 户已表决过，以这次为准，谢谢！"
    return f"已收到 {room} 户的表决，谢谢参与！"


def need_room(verb: str) -> str:
    return f"请注明房号，例如“{verb} 301”。"


def need_building(verb: str) -> str:
    return f"请写明楼栋和房号，例如“{verb} 3栋1502”。"


def unknown_room(room: str, unit: str) -> str:
    return f"{unit}没有登记 {room} 户，请核对房号。"


def room_has_members(room: str) -> str:
    return f"{room} 户已登记家庭成员，请由登记的家庭成员表决。"


def not_owner(room: str) -> str:
    return f"抱歉，本次表决只限业主户参加，{room} 户登记为租户。"


def outside(unit: str) -> str:
    return f"抱歉，本次表决只限{unit}的住户参加。"


def closed(ticket_id: int, deadline: datetime) -> str:
    return f"抱歉，#{ticket_id} 的表决已于 {until(deadline)} 截止，结果会在群里公布。"


def which_vote(ticket_ids: list[int]) -> str:
    listed = "、".join(f"#{t}" for t in ticket_ids)
    return f"现在有几项表决（{listed}），请带上编号，例如“同意 #{ticket_ids[0]}”。"


def no_vote() -> str:
    return "目前没有进行中的表决。"


def no_vote_on(ticket_id: int) -> str:
    return f"#{ticket_id} 目前没有户表决。"


def running(ticket_id: int) -> str:
    return f"#{ticket_id} 已有户表决在进行，请等它结束。"


def not_allowed(roles: str) -> str:
    return f"抱歉，户表决须由{roles}发起。"


def bad_deadline(text: str) -> str:
    return f"截止时间“{text}”看不懂，请写成“截止 2026-12-20”或“截止 2026-12-20 18:00”。"


def deadline_past(deadline: datetime) -> str:
    return f"截止时间 {until(deadline)} 已经过了，请定一个以后的时间。"


def owners_need_listing(unit: str) -> str:
    return f"{unit}还没有在组织文件里登记住户，无法确定哪些是业主户；请先登记住户，再发起只限业主的表决。"


def base_needs_listing(unit: str) -> str:
    return f"{unit}还没有在组织文件里登记住户，无法按全部户数计算通过比例；请先登记住户。"


def no_eligible(unit: str) -> str:
    return f"{unit}登记的住户里没有可以参加这次表决的户。"


@dataclass(frozen=True)
class Figures:
    """What a count says: households for each choice, the households entitled to vote, the outcome."""

    agree: int
    oppose: int
    abstain: int
    eligible: int | None
    passed: bool
    rule: str

    @property
    def voted(self) -> int:
        return self.agree + self.oppose + self.abstain


def count(ticket_id: int, title: str, figures: Figures, deadline: datetime, *, final: bool) -> str:
    """The running count on request, or the tally announced at the deadline; nobody's own vote is shown."""
    f = figures
    if f.eligible:
        turnout = f"应参加 {f.eligible} 户，已参加 {f.voted} 户（{f.voted * 100 // f.eligible}%）"
    else:
        turnout = f"已参加 {f.voted} 户"
    counts = f"同意 {f.agree} 户，反对 {f.oppose} 户，弃权 {f.abstain} 户"
    if not final:
        return f"#{ticket_id}「{title}」表决进展：{turnout}；{counts}。{until(deadline)} 截止。"
    outcome = "表决通过" if f.passed else "表决未通过"
    return mask_personal(
        f"【表决结果】#{ticket_id}「{title}」已截止：{turnout}；{counts}。通过条件：{f.rule}，{outcome}。"
    )


def recount_differs() -> str:
    return "注意：按存档选票重新计票的结果与公布的结果不一致，请核查。"
