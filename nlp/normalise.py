"""Turn one raw group-chat message into plain simplified Mandarin the rules can read.

Steps, in order: drop lone surrogates, truncate, NFKC (full-width to half-width), control and
zero-width characters to spaces, @mentions and WeChat sticker codes (``[强]``) out, emoji out,
lower-case, traditional to simplified with OpenCC, Cantonese and English chat forms to Mandarin from
a data file, repeated punctuation folded, spaces collapsed. Pure and cheap: no I/O after construction.
``split_quoted_reply`` separates WeChat's quoted reply form, so the classifier can read the reply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

import opencc

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffc]")
# A mention runs to the next space (WeChat puts U+2005 after it, NFKC turns that into a space).
_MENTION = re.compile(r"@[^\s@,.!?:;，。！？：；]{1,16}")
_STICKER = re.compile(r"\[[^\[\]\s]{1,8}\]")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U0001fb00-\U0001fbff\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff"
    "\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff\ufe00-\ufe0f\U000e0000-\U000e007f\ufffd]"
)
# any character one of the four patterns above could remove (surrogates, controls, @, [, emoji)
_SPECIAL = re.compile(
    "[\ud800-\udfff\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffc@\\["
    "\U0001f000-\U0001faff\U0001fb00-\U0001fbff\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff"
    "\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff\ufe00-\ufe0f\U000e0000-\U000e007f\ufffd]"
)
_REPEATED_PUNCT = re.compile(r"([!?,.~。、…\-=*#+])\1+")
_SPACES = re.compile(r"\s+")
# WeChat's reply form: the quoted message in corner brackets, a line of dashes, then the reply.
_QUOTED_REPLY = re.compile(r"\A\s*「[^」]{0,2000}」[ \t]*\r?\n[ \t]*(?:[-－—–][ \t]*){3,}(?:\r?\n|\Z)")


def split_quoted_reply(text: str) -> tuple[str, str]:
    """WeChat's reply form -- ``「name: quoted text」``, a line of dashes, the reply -- as
    (quoted text, reply); ``("", text)`` for any other message. Only the reply is the writer's."""
    if not isinstance(text, str) or not text.lstrip().startswith("「"):
        return "", text
    match = _QUOTED_REPLY.match(text)
    if match is None:
        return "", text
    quoted = match.group(0).strip()
    return quoted[1 : quoted.index("」")], text[match.end() :]


class ColloquialMapError(ValueError):
    """The colloquial map file is broken; the message names the file and line."""


def read_colloquial_map(path: Path) -> dict[str, str]:
    """Read ``FORM<TAB>MANDARIN`` lines (``#`` comments) into a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ColloquialMapError(f"{path}: cannot read ({exc})") from exc
    mapping: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ColloquialMapError(f"{path}:{number}: expected FORM<TAB>MANDARIN")
        form = parts[0].strip().lower()
        if form in mapping:
            raise ColloquialMapError(f"{path}:{number}: {form!r} is listed twice")
        mapping[form] = parts[1].strip()
    return mapping


_Trie: TypeAlias = dict[str, "_Trie"]


def _trie_pattern(forms: list[str]) -> str:
    """A regex for ``forms`` shaped as a trie: Python's ``re`` tries alternatives one by one, so
    sharing prefixes (and ordering longer continuations first) keeps the scan fast and longest-match."""
    trie: _Trie = {}
    for form in forms:
        node = trie
        for char in form:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


def _compile_map(mapping: Mapping[str, str]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """(pattern for Chinese forms, pattern for ASCII forms matched as whole words)."""
    chinese = sorted(form for form in mapping if not form.isascii())
    ascii_forms = sorted((form for form in mapping if form.isascii()), key=lambda f: (-len(f), f))
    han = re.compile(_trie_pattern(chinese)) if chinese else None
    latin = None
    if ascii_forms:
        alternatives = "|".join(re.escape(form) for form in ascii_forms)
        latin = re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")
    return han, latin


_HAS_LATIN = re.compile("[a-z]")


class Normaliser:
    """Callable that normalises one message; built once, reused for every message."""

    def __init__(self, colloquial: Mapping[str, str], max_chars: int) -> None:
        if max_chars <= 0:
            raise ValueError("max_chars must be positive")
        self.max_chars = max_chars
        self._converter = opencc.OpenCC("t2s")
        self._mapping = {form.lower(): mandarin for form, mandarin in colloquial.items()}
        self._han, self._latin = _compile_map(self._mapping)
        self._replace = lambda match: self._mapping[match.group(0)]

    def __call__(self, text: str) -> str:
        if not isinstance(text, str) or not text:
            return ""
        # Cut first (with slack for what NFKC and stripping remove) so the cost is bounded.
        text = text[: self.max_chars * 2]
        special = _SPECIAL.search(text) is not None  # most messages have nothing to strip
        if special:
            text = _SURROGATES.sub("", text)
        text = unicodedata.normalize("NFKC", text)[: self.max_chars * 2]
        if special or _SPECIAL.search(text) is not None:
            text = _CONTROL.sub(" ", text)
            text = _MENTION.sub(" ", text)
            text = _STICKER.sub(" ", text)
            text = _EMOJI.sub(" ", text)
        text = text[: self.max_chars].lower()
        text = self._converter.convert(text)
        if self._latin is not None and _HAS_LATIN.search(text):
            text = self._latin.sub(self._replace, text)
        if self._han is not None:
            text = self._han.sub(self._replace, text)
        if _REPEATED_PUNCT.search(text) is not None:
            text = _REPEATED_PUNCT.sub(r"\1", text)
        return _SPACES.sub(" ", text).strip()
