"""Group-chat lines that are chatter, shared by the generated workloads (the classifier benchmark's texts and
a district's evening): the same words, so both benchmarks read the same kind of noise."""

from __future__ import annotations

GREETINGS: tuple[str, ...] = (
    "谢谢楼长",
    "收到",
    "早上好",
    "哈哈哈",
    "[强][强]",
    "👍",
    "好的",
    "辛苦了",
    "多謝晒",
    "今晚食咩",
    "有没有人一起去饮茶",
    "今天好热",
    "周末愉快",
    "[玫瑰]",
    "ok 收到",
)
