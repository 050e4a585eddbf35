"""Are two reports about the same problem? Character bigrams, with numbers that must agree."""

from __future__ import annotations

import re
import unicodedata

_CN_DIGITS = {
    "零": "0",
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
    "十": "10",
}
_FILLERS = re.compile(r"还是|又|了|的|啊|呀|吧|呢|嘛|喔|哦|咗|嘅|都|也|很|好|非常|真的|一直|还|又再")
_PLACE_NUMBER = re.compile(r"(\d+)\s*(?:楼|层|栋|座|单元|号楼|号|室)")
_KEEP = re.compile(r"[0-9a-z\u4e00-\u9fff]")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(_CN_DIGITS.get(ch, ch) for ch in text)
    return _FILLERS.sub("", text)


def place_numbers(text: str) -> frozenset[str]:
    return frozenset(_PLACE_NUMBER.findall(_normalise(text)))


def _bigrams(text: str) -> set[str]:
    chars = "".join(_KEEP.findall(text))
    return {chars[i : i + 2] for i in range(len(chars) - 1)} or ({chars} if chars else set())


def similarity(a: str, b: str) -> float:
    """0..1, the share of the shorter report's bigrams found in the other (a short follow-up such as
    "六楼走廊灯还是不亮" matches a long first report). Reports naming different floors or buildings score 0."""
    na, nb = _normalise(a), _normalise(b)
    pa, pb = frozenset(_PLACE_NUMBER.findall(na)), frozenset(_PLACE_NUMBER.findall(nb))
    if pa and pb and not pa & pb:
        return 0.0
    ga, gb = _bigrams(na), _bigrams(nb)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / min(len(ga), len(gb))
