"""jieba segmentation with a private tokenizer: its own dictionary state, cache file and user words.

jieba's module-level functions share one global tokenizer. We never touch it: every
:class:`Segmenter` owns a ``jieba.Tokenizer``, so refusing a new rules file cannot leave the running
classifier with a half-loaded dictionary.

The cut itself is jieba's dictionary-only algorithm (``cut(text, HMM=False)``: the most probable path
through the word graph of each block of CJK and alphanumeric characters, single letters and digits
joined), computed over the tokenizer's own dictionary in one pass per block with each word's log
probability remembered. It returns exactly what jieba returns (a test compares them on every corpus
and on generated text) in about half the time, which the classifier's speed budget needs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from math import log
from pathlib import Path

import jieba

log_ = logging.getLogger(__name__)

# jieba's own block patterns (jieba/__init__.py re_han_default, re_skip_default)
_BLOCK = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)")
_SKIP = re.compile("(\r\n|\\s)")
# a fragment that only begins dictionary words (frequency 0), in the log-probability memo
_PREFIX = float("nan")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class Segmenter:
    """Cuts normalised text into tokens. Build once: loading jieba's dictionary takes ~0.5 s."""

    def __init__(self, cache_dir: Path, user_dict: Path | None = None, words: Iterable[str] = ()) -> None:
        # jieba logs its progress at DEBUG through its own stderr handler; keep it to warnings.
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.tmp_dir = str(cache_dir)
        except OSError as exc:
            log_.warning("jieba cache dir %s is not writable (%s); using the system temp dir", cache_dir, exc)
        tokenizer.cache_file = "jieba.linli.cache"
        tokenizer.initialize()
        if user_dict is not None:
            tokenizer.load_userdict(str(user_dict))
        for word in words:
            # Keep every rule word whole unless the dictionary already knows it. ASCII words (lift,
            # 120) stay out: jieba already keeps runs of letters and digits together, and a word such
            # as 120 in the dictionary would split a room number like 1202.
            if len(word) > 1 and not word.isascii() and word not in tokenizer.FREQ:
                tokenizer.suggest_freq(word, tune=True)
        self._tokenizer = tokenizer
        self._freq: dict[str, int] = tokenizer.FREQ
        self._log_total = log(tokenizer.total)
        # dictionary word -> log(frequency) - log(total), or _PREFIX for a fragment that only begins words;
        # filled as fragments are met
        self._log_p: dict[str, float] = {}

    def cut(self, text: str) -> list[str]:
        """Dictionary-only segmentation (no HMM): deterministic and keeps rule words together.
        Whitespace is left out."""
        if not text:
            return []
        tokens: list[str] = []
        # split() with a group alternates text between blocks (even places) and blocks (odd places)
        for place, block in enumerate(_BLOCK.split(text)):
            if not block:
                continue
            if place % 2:
                self._cut_block(block, tokens)
            else:
                tokens.extend(char for char in block if not char.isspace())
        return tokens

    def _cut_block(self, sentence: str, tokens: list[str]) -> None:
        freq = self._freq
        log_p = self._log_p
        size = len(sentence)
        # best[i]: the log probability of the best path from i to the end; step[i]: where its first word ends
        best = [0.0] * (size + 1)
        step = [0] * size
        for start in range(size - 1, -1, -1):
            top = 0.0
            end_at = -1
            index = start
            fragment = sentence[start]
            while True:
                weight = log_p.get(fragment)
                if weight is None:
                    count = freq.get(fragment)
                    if count is None:
                        break  # no dictionary word goes on like this
                    weight = log_p[fragment] = log(count) - self._log_total if count else _PREFIX
                if weight is not _PREFIX:
                    score = weight + best[index + 1]
                    if end_at < 0 or score >= top:  # ties go to the longer word, as in jieba
                        top, end_at = score, index
                index += 1
                if index >= size:
                    break
                fragment = sentence[start : index + 1]
            if end_at < 0:  # no dictionary word starts here: the character alone
                top, end_at = log(freq.get(sentence[start]) or 1) - self._log_total + best[start + 1], start
            best[start] = top
            step[start] = end_at
        position = 0
        letters = ""
        while position < size:
            end = step[position] + 1
            word = sentence[position:end]
            if end - position == 1 and word in _ALNUM:
                letters += word  # single letters and digits run together, as jieba joins them
            else:
                if letters:
                    tokens.append(letters)
                    letters = ""
                tokens.append(word)
            position = end
        if letters:
            tokens.append(letters)

    def jieba_cut(self, text: str) -> list[str]:
        """The same cut by jieba itself (tests compare the two)."""
        return [token for token in self._tokenizer.lcut(text, HMM=False) if not token.isspace()]
