from __future__ import annotations

from pathlib import Path

import pytest

from nlp.normalise import ColloquialMapError, Normaliser, read_colloquial_map

from .conftest import ROOT


@pytest.fixture(scope="module")
def normalise() -> Normaliser:
    return Normaliser(read_colloquial_map(ROOT / "config" / "cantonese.txt"), max_chars=200)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("部lift坏咗", "部电梯坏了"),
        ("冇水，好嘈！！！", "没有水,好吵!"),
        ("樓梯間煤氣味", "楼梯间煤气味"),
        ("＠王姐\u2005你好[强]👍", "你好"),
        ("ＷＩＦＩ唔work", "网络不能用"),
        ("搞掂咗", "搞定了"),
        ("liftoff", "liftoff"),
    ],
)
def test_normalise(normalise: Normaliser, raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_truncates_to_the_limit(normalise: Normaliser) -> None:
    assert len(normalise("楼" * 10_000)) == 200


def test_strips_control_characters_and_surrogates(normalise: Normaliser) -> None:
    assert normalise("漏\x00水\ud800了\u200b") == "漏 水了"


def test_bad_map_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "map.txt"
    path.write_text("# ok\n冇\t没有\nbroken line\n", encoding="utf-8")
    with pytest.raises(ColloquialMapError, match=r"map\.txt:3:"):
        read_colloquial_map(path)
