"""The classifier the service runs with: loaded once, reloaded when the rules file changes or on SIGHUP.

A rules file that is refused (``RulesError``: file, line, reason) is logged and the previous rules stay
active. Building a classifier takes about a second (a private jieba tokenizer), so reloads run in a
worker thread and processes share one classifier per rules file.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from config.settings import NlpSettings
from nlp.classifier import RuleClassifier, load_classifier
from nlp.decision import Decision
from nlp.rules import RulesError

log = logging.getLogger(__name__)

_LOADED: dict[tuple[str, str, int], tuple[int, RuleClassifier]] = {}
"""(rules file, cache dir, max chars) -> (mtime it was built from, classifier): one version kept per file."""
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Stamp:
    """What identifies one version of the rules file on disk."""

    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> Stamp | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return cls(stat.st_mtime_ns, stat.st_size)


def _build(settings: NlpSettings, stamp: Stamp | None) -> RuleClassifier:
    key = (str(settings.rules_file), str(settings.cache_dir), settings.max_text_chars)
    mtime = stamp.mtime_ns if stamp else 0
    with _LOCK:
        cached = _LOADED.get(key)
        if cached is None or cached[0] != mtime:
            fresh = load_classifier(settings.rules_file, settings.cache_dir, max_chars=settings.max_text_chars)
            cached = _LOADED[key] = (mtime, fresh)
        return cached[1]


class LiveClassifier:
    """A Classifier whose rules can be swapped at run time; ``classify`` always uses a complete rule set."""

    def __init__(self, settings: NlpSettings) -> None:
        self.settings = settings
        self._stamp = Stamp.of(settings.rules_file)
        self._current = _build(settings, self._stamp)
        self.loaded_at = datetime.now(UTC)
        self.last_error: str | None = None

    def classify(self, text: str) -> Decision:
        return self._current.classify(text)

    @property
    def version(self) -> int:
        return self._current.ruleset.version

    def status(self) -> dict[str, object]:
        return {
            "file": str(self.settings.rules_file),
            "version": self.version,
            "rules": len(self._current.ruleset.rules),
            "loaded_at": self.loaded_at.isoformat(),
            "last_error": self.last_error,
        }

    def changed(self) -> bool:
        return Stamp.of(self.settings.rules_file) != self._stamp

    def reload(self) -> bool:
        """Load the rules file again; on a refused file keep the current rules and return False."""
        stamp = Stamp.of(self.settings.rules_file)
        try:
            fresh = _build(self.settings, stamp)
        except RulesError as exc:
            self._stamp = stamp  # do not retry the same broken file on every check
            self.last_error = str(exc)
            log.error("rules file refused, keeping rules version %d: %s", self.version, exc)
            return False
        self._current, self._stamp = fresh, stamp
        self.loaded_at = datetime.now(UTC)
        self.last_error = None
        log.info(
            "rules reloaded from %s: version %d, %d rules",
            self.settings.rules_file,
            self.version,
            len(fresh.ruleset.rules),
        )
        return True

    async def reload_async(self) -> bool:
        return await asyncio.to_thread(self.reload)

    async def watch(self, every_seconds: float = 2.0) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            if self.changed():
                await self.reload_async()
