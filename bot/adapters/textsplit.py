"""Splitting a long text into messages a platform accepts, by UTF-8 bytes, at the most natural breaks."""

from __future__ import annotations


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_line(line: str, limit: int) -> list[str]:
    """Cut one over-long line into pieces of at most ``limit`` bytes, never inside a character."""
    pieces: list[str] = []
    current = ""
    for char in line:
        if _size(current + char) > limit:
            pieces.append(current)
            current = ""
        current += char
    if current:
        pieces.append(current)
    return pieces


def split_text(text: str, limit: int, reserve: int = 0) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` bytes, at blank lines, then lines, then characters.

    ``reserve`` bytes are kept free in the first chunk (for mention markup prepended to it).
    Paragraphs (blocks separated by a blank line) stay whole when they fit, so a digest's sections
    are not torn apart; a single line longer than the limit is cut at a character boundary.
    """
    if limit <= reserve:
        raise ValueError("limit too small")
    chunks: list[str] = []
    current = ""

    def room() -> int:
        return limit - (reserve if not chunks else 0)

    def flush() -> None:
        nonlocal current
        if current:
            chunks.append(current.rstrip("\n"))
        current = ""

    for block in text.split("\n\n"):
        candidate = f"{current}\n\n{block}" if current else block
        if _size(candidate) <= room():
            current = candidate
            continue
        flush()
        if _size(block) <= room():
            current = block
            continue
        for line in block.split("\n"):
            candidate = f"{current}\n{line}" if current else line
            if _size(candidate) <= room():
                current = candidate
                continue
            flush()
            if _size(line) <= room():
                current = line
                continue
            pieces = _cut_line(line, room())
            for piece in pieces[:-1]:
                chunks.append(piece)
            current = pieces[-1] if pieces else ""
    flush()
    return [chunk for chunk in chunks if chunk.strip()] or ([text] if text.strip() else [])
