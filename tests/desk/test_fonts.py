"""Charts render on a machine without any CJK font: linli ships an OFL subset of Noto Sans CJK SC."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from config.schedule import DOMAINS
from config.settings import CONFIG_DIR
from handlers import charts

ROOT = Path(__file__).resolve().parents[2]
OUR_TEXTS = [
    *sorted((ROOT / "bot" / "texts").glob("*.py")),
    CONFIG_DIR / "example-org.yaml",
    *sorted((ROOT / "bot" / "web" / "desk" / "templates").glob("*.html")),
]


@pytest.fixture
def no_system_fonts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a fresh machine: no font in the system but the Latin ones."""
    monkeypatch.setattr(charts, "system_fonts", list)
    charts.cjk_font.cache_clear()
    yield
    charts.cjk_font.cache_clear()


def test_the_shipped_font_and_its_licence_are_in_the_package() -> None:
    (font,) = charts.shipped_fonts()
    assert font.name == "LinliSans-Regular.otf"
    licence = (font.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Noto Sans CJK SC" in licence


@pytest.mark.usefixtures("no_system_fonts")
def test_without_system_fonts_the_charts_draw_every_label_with_the_shipped_font(tmp_path: Path) -> None:
    font = charts.cjk_font()
    assert font.family == "Linli Sans"
    days = ["11/16 周一", "11/17 周二", "11/22 周日"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing" when it would draw a box
        charts.bar_by_domain(
            [(d, i) for i, d in enumerate(DOMAINS)], "北江社区 2026-W47 各服务领域工单数", tmp_path / "a.png"
        )
        charts.opened_vs_resolved(days, [3, 1, 0], [0, 2, 1], "时代城小区 每日新反映与办结", tmp_path / "b.png")
    assert (tmp_path / "a.png").stat().st_size > 10_000
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_subset_covers_every_character_linli_writes() -> None:
    (font,) = charts.shipped_fonts()
    written = {ch for path in OUR_TEXTS for ch in path.read_text(encoding="utf-8") if ord(ch) > 0x2E7F}
    assert len(written) > 300
    missing = charts.missing_glyphs(font, ["".join(written)])
    assert not missing, f"run scripts/make_font_subset.py: {''.join(sorted(missing))}"


def test_the_subset_covers_gb2312_for_names_in_org_files() -> None:
    (font,) = charts.shipped_fonts()
    sample = "".join(bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xF8, 7) for lo in range(0xA1, 0xFF, 5))
    assert charts.missing_glyphs(font, [sample]) == set()


def test_a_system_cjk_font_wins_over_the_shipped_subset(tmp_path: Path) -> None:
    (shipped,) = charts.shipped_fonts()
    system = TTFont(str(shipped))
    for record in system["name"].names:
        if record.nameID in (1, 16):
            record.string = "Noto Sans CJK SC"
    system.save(str(tmp_path / "NotoSansCJK-Regular.otf"))
    chosen = charts.choose_font([tmp_path / "NotoSansCJK-Regular.otf"], [shipped])
    assert chosen.family == "Noto Sans CJK SC"
    assert chosen.path == tmp_path / "NotoSansCJK-Regular.otf"
    assert charts.choose_font([], [shipped]).family == "Linli Sans"
    with pytest.raises(charts.FontMissing):
        charts.choose_font([], [])
