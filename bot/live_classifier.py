"""The classifier the service runs with: loaded once, reloaded when the rules file or the learned layer's
model file changes, or on SIGHUP.

A rules file that is refused (``RulesError``: file, line, reason) is logged and the previous classifier
stays active. A model file that is missing, corrupt or from another tokenizer does not stop anything:
the classifier runs on the rules alone and ``status()`` says ``degraded`` with the reason (``/healthz``
shows it). Building a classifier takes about a second (a private jieba tokenizer), so reloads run in a
worker thread and processes share one classifier per rules and model file.
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

_LOADED: dict[tuple[str, str, int, str], tuple[tuple[int, int], RuleClassifier]] = {}
"""(rules file, cache dir, max chars, model file) -> ((rules mtime, model mtime) it was built from,
classifier): one version kept per pair of files."""
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


def _build(settings: NlpSettings, stamp: Stamp | None, model_stamp: Stamp | None) -> RuleClassifier:
    key = (str(settings.rules_file), str(settings.cache_dir), settings.max_text_chars, str(settings.model_file))
    mtimes = (stamp.mtime_ns if stamp else 0, model_stamp.mtime_ns if model_stamp else 0)
    with _LOCK:
        cached = _LOADED.get(key)
        if cached is None or cached[0] != mtimes:
            fresh = load_classifier(
                settings.rules_file,
                settings.cache_dir,
                max_chars=settings.max_text_chars,
                model_file=settings.model_file,
            )
            cached = _LOADED[key] = (mtimes, fresh)
        return cached[1]


def _model_stamp(settings: NlpSettings) -> Stamp | None:
    return Stamp.of(settings.model_file) if settings.model_file is not None else None


class LiveClassifier:
    """A Classifier whose rules can be swapped at run time; ``classify`` always uses a complete rule set."""

    def __init__(self, settings: NlpSettings) -> None:
        self.settings = settings
        self._stamp = Stamp.of(settings.rules_file)
        self._model_stamp = _model_stamp(settings)
        self._current = _build(settings, self._stamp, self._model_stamp)
        self.loaded_at = datetime.now(UTC)
        self.last_error: str | None = None
        self._reloading = asyncio.Lock()

    def classify(self, text: str) -> Decision:
        return self._current.classify(text)

    @property
    def version(self) -> int:
        return self._current.ruleset.version

    @property
    def degraded(self) -> bool:
        """A model file is configured but not in use: the rules decide alone."""
        return self._current.degraded

    def status(self) -> dict[str, object]:
        model = self._current.model
        return {
            "file": str(self.settings.rules_file),
            "version": self.version,
            "rules": len(self._current.ruleset.rules),
            "loaded_at": self.loaded_at.isoformat(),
            "last_error": self.last_error,
            "model_file": str(self.settings.model_file) if self.settings.model_file is not None else None,
            "model_features": model.size if model is not None else 0,
            "degraded": self.degraded,
            "degraded_reason": self._current.model_error,
        }

    def changed(self) -> bool:
        return Stamp.of(self.settings.rules_file) != self._stamp or _model_stamp(self.settings) != self._model_stamp

    def reload(self) -> bool:
        """Load the rules and model files again; on a refused rules file keep the current classifier and
        return False. A refused model file still loads the rules (degraded)."""
        stamp, model_stamp = Stamp.of(self.settings.rules_file), _model_stamp(self.settings)
        try:
            fresh = _build(self.settings, stamp, model_stamp)
        except RulesError as exc:
            self._stamp, self._model_stamp = stamp, model_stamp  # do not retry the same broken file on every check
            self.last_error = str(exc)
            log.error("rules file refused, keeping rules version %d: %s", self.version, exc)
            return False
        # /healthz reads these from the event loop while this runs in a thread: the new classifier is
        # published last, so whoever sees it also sees that the refusal before it is over
        self.last_error = None
        self.loaded_at = datetime.now(UTC)
        self._stamp, self._model_stamp = stamp, model_stamp
        self._current = fresh
        log.info(
            "rules reloaded from %s: version %d, %d rules; learned layer %s",
            self.settings.rules_file,
            self.version,
            len(fresh.ruleset.rules),
            f"degraded ({fresh.model_error})" if fresh.degraded else "loaded" if fresh.model else "off",
        )
        return True

    async def reload_async(self) -> bool:
        """``reload`` off the event loop, one at a time: the file watch and SIGHUP may ask together, and the
        later one must read the file after the earlier one is done with it (not race it to ``last_error``)."""
        async with self._reloading:
            return await asyncio.to_thread(self.reload)

    async def watch(self, every_seconds: float = 2.0) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            if self.changed():
                await self.reload_async()
