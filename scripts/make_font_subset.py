#!/usr/bin/env python3
"""Regenerate config/fonts/LinliSans-Regular.otf: a subset of Noto Sans CJK SC (SIL OFL 1.1).

linli draws its chart labels and the desk's pages with it on machines that have no CJK font.
The subset covers GB 2312 (every character of its 6,763 hanzi and its symbols), ASCII, common
punctuation, and every character that appears in linli's own texts, templates and data files.

Development-time only; needs Debian's fonts-noto-cjk (or --source FILE) and fontTools (a matplotlib
dependency, so already in .venv):

    apt-get install fonts-noto-cjk
    .venv/bin/python scripts/make_font_subset.py

The family is renamed "Linli Sans" (OFL: a Modified Version keeps the licence; Noto has no reserved
font name, the rename only keeps the subset from passing for the full font). The licence file
config/fonts/OFL.txt is written beside it, with the source's copyright line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "config" / "fonts"
OUT_FONT = OUT_DIR / "LinliSans-Regular.otf"
OUT_LICENCE = OUT_DIR / "OFL.txt"
DEBIAN_TTC = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")
FAMILY = "Linli Sans"
OUR_TEXT = ("bot", "handlers", "config", "nlp", "docs")
OUR_SUFFIXES = {".py", ".html", ".js", ".css", ".yaml", ".jsonl", ".json", ".md", ".txt"}


def gb2312() -> set[str]:
    chars = set()
    for first in range(0xA1, 0xF8):
        for second in range(0xA1, 0xFF):
            try:
                chars.add(bytes([first, second]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def our_characters() -> set[str]:
    chars: set[str] = set()
    for top in OUR_TEXT:
        for path in (ROOT / top).rglob("*"):
            if path.suffix in OUR_SUFFIXES and path.is_file() and "fonts" not in path.parts:
                chars.update(path.read_text(encoding="utf-8", errors="ignore"))
    return chars


def wanted() -> set[int]:
    chars = set(map(chr, range(0x20, 0x7F))) | gb2312() | our_characters()
    ranges = [(0xA0, 0xFF), (0x2000, 0x206F), (0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2460, 0x24FF)]
    for low, high in ranges:
        chars.update(map(chr, range(low, high + 1)))
    return {ord(c) for c in chars if c.isprintable() or c == " "}


def load_source(path: Path) -> TTFont:
    if path.suffix.lower() == ".ttc":
        for font in TTCollection(str(path)).fonts:
            if font["name"].getDebugName(1) == "Noto Sans CJK SC":
                return font
        sys.exit(f"{path}: no Noto Sans CJK SC face")
    return TTFont(str(path))


def rename(font: TTFont) -> str:
    names = font["name"]
    copyright_line = names.getDebugName(0) or ""
    for record in list(names.names):
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID == 4:
            record.string = f"{FAMILY} Regular"
        elif record.nameID == 6:
            record.string = "LinliSans-Regular"
        elif record.nameID == 3:
            record.string = "LinliSans-Regular; subset of Noto Sans CJK SC"
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = ["LinliSans-Regular"]
        top = cff.topDictIndex[0]
        top.FamilyName = FAMILY
        top.FullName = f"{FAMILY} Regular"
    return copyright_line


def licence_text(copyright_line: str) -> str:
    body = DEBIAN_COPYRIGHT.read_text(encoding="utf-8").split("License: SIL-1.1\n", 2)[-1]
    lines = []
    for line in body.splitlines():
        if line and not line.startswith(" "):
            break
        lines.append("" if line.strip() == "." else line[1:])
    return (
        f"{FAMILY} (LinliSans-Regular.otf) is a subset of Noto Sans CJK SC, made by scripts/make_font_subset.py.\n"
        f"{copyright_line}\n\n" + "\n".join(lines).strip() + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEBIAN_TTC)
    args = parser.parse_args()
    if not args.source.exists():
        sys.exit(f"{args.source} not found: apt-get install fonts-noto-cjk, or give --source")
    font = load_source(args.source)
    options = subset.Options()
    options.layout_features = ["kern", "vert", "vrt2", "locl"]
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14, 16, 17]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted())
    subsetter.subset(font)
    copyright_line = rename(font)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    font.save(str(OUT_FONT))
    OUT_LICENCE.write_text(licence_text(copyright_line), encoding="utf-8")
    print(f"{OUT_FONT.relative_to(ROOT)}: {len(font.getBestCmap())} characters, {OUT_FONT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
