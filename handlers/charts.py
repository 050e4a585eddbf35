"""The digest's charts as PNG files, drawn with a CJK font so that every Chinese label is readable.

The font is found on disk, not in matplotlib's font cache (which may predate the font's installation):
a system CJK font when there is one (Noto Sans CJK SC, WenQuanYi…: it covers every name an org file may
hold), else the subset of Noto Sans CJK SC shipped in ``config/fonts/`` (GB 2312 and every character
linli writes; scripts/make_font_subset.py), so charts render on a machine without any CJK font. A chart
is refused rather than drawn with boxes: every label is checked against the font's character map first.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

from config.settings import CONFIG_DIR

log = logging.getLogger(__name__)

SHIPPED_FONTS = CONFIG_DIR / "fonts"
PREFERRED = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
)
_LIKELY_FILE = re.compile(r"(cjk|wqy|sourcehan|sc-|droidsansfallback|notosanssc|wenquanyi)", re.IGNORECASE)
PROBE = "邻里社区周报受理率办结率楼栋空间安全环境卫生文化体育政策宣传日常生活纠纷化解其他冇咗"


class FontMissing(RuntimeError):
    """No CJK font is installed; the text digest still goes out, the charts do not."""


@dataclass(frozen=True)
class CjkFont:
    path: Path
    family: str

    def properties(self, size: float = 11) -> FontProperties:
        return FontProperties(fname=str(self.path), size=size)

    def missing(self, texts: Iterable[str]) -> set[str]:
        return missing_glyphs(self.path, texts)


@functools.lru_cache(maxsize=16)
def _charmap(path: Path) -> frozenset[int]:
    return frozenset(FT2Font(str(path)).get_charmap())


def missing_glyphs(path: Path, texts: Iterable[str]) -> set[str]:
    """Characters of ``texts`` the font at ``path`` has no glyph for (spaces and controls aside)."""
    covered = _charmap(path)
    return {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in covered}


def shipped_fonts() -> list[Path]:
    return sorted(p for p in SHIPPED_FONTS.glob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc"))


def system_fonts() -> list[Path]:
    return sorted(Path(p) for p in font_manager.findSystemFonts() if _LIKELY_FILE.search(Path(p).name))


def _usable(paths: Iterable[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        try:
            family = FT2Font(str(path)).family_name
        except (OSError, RuntimeError):
            continue
        if not missing_glyphs(path, [PROBE]):
            found.setdefault(family, path)
    return found


def choose_font(system: Iterable[Path], shipped: Iterable[Path]) -> CjkFont:
    """A preferred system family, else any system CJK font, else the one shipped with linli."""
    found = _usable(system)
    for family in PREFERRED:
        if family in found:
            return CjkFont(found[family], family)
    found = found or _usable(shipped)
    if found:
        family, path = next(iter(sorted(found.items())))
        return CjkFont(path, family)
    raise FontMissing(
        "no CJK font found: install Debian's fonts-noto-cjk or fonts-wqy-microhei, or restore the font "
        f"linli ships in {SHIPPED_FONTS} (scripts/make_font_subset.py)"
    )


@functools.lru_cache(maxsize=1)
def cjk_font() -> CjkFont:
    """The font every chart uses: see ``choose_font``."""
    return choose_font(system_fonts(), shipped_fonts())


def _check(font: CjkFont, labels: Sequence[str]) -> None:
    missing = font.missing(labels)
    if missing:
        raise FontMissing(f"{font.family} has no glyph for {''.join(sorted(missing))!r}")


@dataclass(frozen=True)
class Margins:
    """Where the axes sit in the figure, as fractions of its width and height."""

    left: float
    right: float
    bottom: float
    top: float


BY_DOMAIN_MARGINS = Margins(left=0.13, right=0.94, bottom=0.14, top=0.9)
DAILY_MARGINS = Margins(left=0.11, right=0.975, bottom=0.1, top=0.9)
"""The digest's two charts have the same labels every week (the service areas, the days, counts of up to
four digits): fixed margins instead of ``tight_layout``, which draws every text once more to measure it and
made a third of each chart's time (a district draws 400 of them a week)."""


def _lay_out(fig: Figure, margins: Margins | None) -> None:
    if margins is None:
        fig.tight_layout()
    else:
        fig.subplots_adjust(left=margins.left, right=margins.right, bottom=margins.bottom, top=margins.top)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(str(path), dpi=120)
    return path


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, in memory (the desk serves charts without writing files)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def weekly_lines(
    weeks: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    ylabel: str,
    font: CjkFont | None = None,
    *,
    percent: bool = False,
    empty: str = "",
) -> Figure:
    """One line per series across the weeks (受理率 and 办结率, or minutes to accept and to resolve);
    a week without data is a gap, not a zero; with no data at all, ``empty`` is written across the chart."""
    font = font or cjk_font()
    _check(font, [*weeks, title, ylabel, empty, *(name for name, _ in series)])
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    xs = list(range(len(weeks)))
    colours = ("#2980b9", "#27ae60", "#c0392b", "#8e44ad")
    for (name, values), colour in zip(series, colours, strict=False):
        ys = [float("nan") if v is None else (v * 100 if percent else v) for v in values]
        ax.plot(xs, ys, marker="o", label=name, color=colour)
    step = max(1, len(weeks) // 8)
    ax.set_xticks(xs[::step], labels=list(weeks)[::step], fontproperties=font.properties(9))
    ax.set_ylabel(ylabel, fontproperties=font.properties())
    ax.set_title(title, fontproperties=font.properties(13))
    if percent:
        ax.set_ylim(0, 105)
    if empty and all(v is None for _, values in series for v in values):
        ax.set_ylim(0, 105 if percent else 1)
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", fontproperties=font.properties(14))
    ax.grid(alpha=0.3)
    ax.legend(prop=font.properties(10))
    fig.tight_layout()
    return fig


def bar_figure(
    labels: Sequence[str],
    values: Sequence[int],
    title: str,
    font: CjkFont | None = None,
    *,
    height: float = 3.8,
    margins: Margins | None = None,
) -> Figure:
    """Horizontal bars with their counts (tickets per service area)."""
    font = font or cjk_font()
    _check(font, [*labels, title, "工单数"])
    fig = Figure(figsize=(7, height))
    ax = fig.add_subplot()
    bars = ax.barh(range(len(labels)), values, color="#c0392b")
    ax.set_yticks(range(len(labels)), labels=list(labels), fontproperties=font.properties())
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[str(v) for v in values], padding=3, fontproperties=font.properties(10))
    ax.set_xlabel("工单数", fontproperties=font.properties())
    ax.set_title(title, fontproperties=font.properties(13))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _lay_out(fig, margins)
    return fig


def grouped_bars(
    labels: Sequence[str],
    opened: Sequence[int],
    resolved: Sequence[int],
    title: str,
    font: CjkFont | None = None,
    *,
    height: float = 3.6,
    label_size: float = 9,
    margins: Margins | None = None,
) -> Figure:
    """Opened and resolved side by side for each label (days of the digest, weeks of the desk)."""
    font = font or cjk_font()
    legend = ("新反映", "已办结")
    _check(font, [*labels, title, *legend, "件数"])
    fig = Figure(figsize=(7, height))
    ax = fig.add_subplot()
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], opened, width=0.4, label=legend[0], color="#2980b9")
    ax.bar([x + 0.2 for x in xs], resolved, width=0.4, label=legend[1], color="#27ae60")
    step = max(1, len(labels) // 8)
    ax.set_xticks(list(xs)[::step], labels=list(labels)[::step], fontproperties=font.properties(label_size))
    ax.set_ylabel("件数", fontproperties=font.properties())
    ax.set_title(title, fontproperties=font.properties(13))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(prop=font.properties(10))
    _lay_out(fig, margins)
    return fig


def bar_by_domain(counts: Sequence[tuple[str, int]], title: str, path: Path, font: CjkFont | None = None) -> Path:
    """Horizontal bars: tickets per service area (the digest's chart file)."""
    labels = [name for name, _ in counts]
    figure = bar_figure(labels, [n for _, n in counts], title, font, height=4.2, margins=BY_DOMAIN_MARGINS)
    return _save(figure, path)


def opened_vs_resolved(
    days: Sequence[str],
    opened: Sequence[int],
    resolved: Sequence[int],
    title: str,
    path: Path,
    font: CjkFont | None = None,
) -> Path:
    """Grouped bars per day: tickets opened and tickets resolved (the digest's chart file)."""
    figure = grouped_bars(days, opened, resolved, title, font, height=4, label_size=10, margins=DAILY_MARGINS)
    return _save(figure, path)
