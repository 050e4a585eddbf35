"""A small keyword classifier: the first classifier behind the stable interface, kept as a baseline."""

from __future__ import annotations

from nlp.decision import Decision, Domain, Kind

_URGENT = ("煤气味", "燃气味", "着火", "起火", "冒烟", "困人", "被困", "晕倒", "打架", "救命")
_MAJOR = ("停水", "停电", "漏水", "水浸", "污水", "高空抛物", "加装电梯", "充电桩", "电梯坏", *_URGENT)
_TRIVIAL = ("坏了", "不亮", "没人收", "太吵", "噪音", "快递", "请问", "怎么办", "堵了", "漏", "乱停")
_NOISE = ("谢谢", "收到", "早上好", "晚安", "辛苦", "通知", "已经修好", "修好了")
_DOMAINS: tuple[tuple[Domain, tuple[str, ...]], ...] = (
    (Domain.SAFETY, ("煤气", "燃气", "着火", "起火", "冒烟", "电梯", "高空抛物", "消防")),
    (Domain.SPACE, ("停车", "乱停", "充电桩", "加装电梯", "车位")),
    (Domain.SANITATION, ("垃圾", "污水", "臭", "卫生", "蚊子", "老鼠")),
    (Domain.DISPUTE, ("吵", "噪音", "装修", "打架", "邻居")),
    (Domain.DAILY_LIFE, ("停水", "停电", "水管", "灯", "快递", "宽带", "物业", "漏水")),
    (Domain.POLICY, ("补贴", "低保", "社保", "办证", "政策")),
    (Domain.CULTURE, ("活动", "广场舞", "比赛", "篮球")),
)


class BaselineClassifier:
    """Substring rules, no segmentation: cheap, predictable, and the floor a better classifier must beat."""

    def classify(self, text: str) -> Decision:
        fired: list[str] = []
        urgent = any(word in text for word in _URGENT)
        if any(word in text for word in _NOISE) and not urgent:
            kind = Kind.NOISE
            fired.append("baseline:noise")
        elif any(word in text for word in _MAJOR):
            kind = Kind.MAJOR
            fired.append("baseline:major")
        elif any(word in text for word in _TRIVIAL):
            kind = Kind.TRIVIAL
            fired.append("baseline:trivial")
        else:
            kind = Kind.NOISE
        domain = next((d for d, words in _DOMAINS if any(w in text for w in words)), Domain.OTHER)
        if urgent:
            fired.append("baseline:urgent")
        return Decision(kind, urgent and kind is Kind.MAJOR, domain, 0.5 if fired else 0.3, tuple(fired))
