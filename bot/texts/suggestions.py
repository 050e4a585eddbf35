"""The 楼长信箱: suggestions to the building's leader and their answers."""

from __future__ import annotations

from datetime import datetime

from bot.texts.names import mask_personal, summarise

ANONYMOUS = "一位居民（匿名）"


def label(suggestion_id: int) -> str:
    return f"#S{suggestion_id}"


def received(suggestion_id: int, leaders: str, due: datetime, anonymous: bool) -> str:
    how = "已匿名转给" if anonymous else "已转给"
    return f"已收到您的建议（{label(suggestion_id)}），{how}{leaders}，会在{due.month}月{due.day}日前回复您，谢谢！"


def anonymous_in_group() -> str:
    return "下次匿名建议请私信我发送，更好保护您的隐私。"


def to_leader(suggestion_id: int, where: str, sender: str, text: str, due: datetime) -> str:
    return mask_personal(
        f"【楼长信箱】{label(suggestion_id)}（{where}，{sender}）：{text}\n"
        f"请在{due.month}月{due.day}日前回复：“回复建议 {label(suggestion_id)} 内容”。"
    )


def answer_to_sender(suggestion_id: int, text: str, leader: str, answer: str) -> str:
    return mask_personal(f"您的建议（{label(suggestion_id)}「{summarise(text)}」）{leader} 回复：{answer}")


def answer_sent(suggestion_id: int) -> str:
    return f"已把您的回复转给 {label(suggestion_id)} 的建议人，谢谢！"


def empty(verb: str) -> str:
    return f"请把建议写在“{verb}”后面，例如“{verb} 希望小区多放几张长椅”。"


def answer_empty(suggestion_id: int | None) -> str:
    number = label(suggestion_id) if suggestion_id is not None else "#S3"
    return f"请写上回复内容，例如“回复建议 {number} 已向物业反映，下周处理”。"


def unknown(number: str) -> str:
    return f"没有找到建议 {number}，请核对编号。"


def not_allowed(suggestion_id: int) -> str:
    return f"抱歉，{label(suggestion_id)} 只能由所在楼栋的楼长或上级网格回复。"


COMMUNITY = "社区工作人员"
UNKNOWN_PLACE = "楼栋不详"
