"""Pure translation helpers."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.adapters.wechaty.translate import (
    clip,
    content_type,
    mention_prefix,
    mentions_name,
    message_time,
    strip_mentions,
)


def test_strip_mentions_handles_wechat_separators_and_overlapping_names() -> None:
    assert strip_mentions("@王\u2005@王阿姨\u2005电梯坏了", ["王", "王阿姨"]) == "电梯坏了"
    assert strip_mentions("@邻里小助手 3栋停水", ["邻里小助手"]) == "3栋停水"
    assert strip_mentions("电梯坏了 @邻里小助手", ["邻里小助手"]) == "电梯坏了"


def test_strip_mentions_leaves_other_at_text_alone() -> None:
    assert strip_mentions("联系 wang@example.com", ["wang"]) == "联系 wang@example.com"
    assert strip_mentions("@张三 车挡路了", []) == "@张三 车挡路了"
    assert strip_mentions("@a.b 你好", ["a.b"]) == "你好"  # names are not regular expressions
    assert strip_mentions("@aXb 你好", ["a.b"]) == "@aXb 你好"


def test_mentions_name() -> None:
    assert mentions_name("@邻里小助手\u2005在吗", "邻里小助手")
    assert not mentions_name("@邻里小助手们 在吗", "邻里小助手")
    assert not mentions_name("在吗", "")


def test_message_time_reads_seconds_and_milliseconds_as_utc() -> None:
    assert message_time(1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert message_time(1_700_000_000_500) == datetime(2023, 11, 14, 22, 13, 20, 500_000, tzinfo=UTC)
    fallback = datetime(2024, 1, 1, tzinfo=UTC)
    assert message_time(0, now=fallback) == fallback
    assert message_time(10**30, now=fallback) == fallback


def test_content_types() -> None:
    assert content_type("MESSAGE_TYPE_TEXT") == "text"
    assert content_type("MESSAGE_TYPE_AUDIO") == "voice"
    assert content_type("MESSAGE_TYPE_EMOTICON") == "sticker"
    assert content_type("MESSAGE_TYPE_SOMETHING_NEW") == "other"


def test_mention_prefix_and_clip() -> None:
    assert mention_prefix(["王阿姨", "", "李楼长"]) == "@王阿姨\u2005@李楼长\u2005"
    assert mention_prefix([]) == ""
    assert clip("abc", 2) == ("ab", True)
    assert clip("abc", 3) == ("abc", False)
