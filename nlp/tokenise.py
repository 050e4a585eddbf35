"""jieba segmentation with a private tokenizer: its own dictionary state, cache file and user words.

jieba's module-level functions share one global tokenizer. We never touch it: every
:class:`Segmenter` owns a ``jieba.Tokenizer``, so refusing a new rules file cannot leave the running
classifier with a half-loaded dictionary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import jieba

log = logging.getLogger(__name__)


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
            log.warning("jieba cache dir %s is not writable (%s); using the system temp dir", cache_dir, exc)
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

    def cut(self, text: str) -> list[str]:
        """Dictionary-only segmentation (no HMM): deterministic and keeps rule words together."""
        if not text:
            return []
        return [token for token in self._tokenizer.cut(text, HMM=False) if not token.isspace()]
