"""The 党群议事会 (residents' council): the agenda sent before each meeting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.texts.names import mask_personal, state_title, when


def agenda(community: str, meeting: datetime, items: Sequence[tuple[int, str, str, str]], left_out: int = 0) -> str:
    """items: (ticket id, summary, where, state); ``left_out`` more items are not listed."""
    if not items:
        return f"【党群议事会议程】{community} {when(meeting)} 议事会：暂无待议大事。"
    head = f"【党群议事会议程】{community} {when(meeting)} 议事会，待议大事 {len(items) + left_out} 件："
    lines = [
        f"{i}. #{tid}「{summary}」（{where}，{state_title(state)}）"
        for i, (tid, summary, where, state) in enumerate(items, 1)
    ]
    if left_out:
        lines.append(f"另有 {left_out} 件从略。")
    return mask_personal("\n".join([head, *lines]))
