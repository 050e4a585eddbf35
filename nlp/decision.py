"""What the classifier decides about one message."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Kind(StrEnum):
    NOISE = "noise"
    TRIVIAL = "trivial"
    MAJOR = "major"


class Domain(StrEnum):
    SPACE = "空间管理"
    SAFETY = "安全管理"
    SANITATION = "环境卫生"
    CULTURE = "文化体育"
    POLICY = "政策宣传"
    DAILY_LIFE = "日常生活"
    DISPUTE = "纠纷化解"
    OTHER = "其他"


@dataclass(frozen=True, slots=True)
class Decision:
    """``urgent``: clear danger now (every level is told). ``check``: possible danger to a person, someone
    must look now. Never both; both imply nothing about ``kind`` beyond urgent => major."""

    kind: Kind
    urgent: bool
    domain: Domain
    confidence: float
    rules: tuple[str, ...]
    check: bool = False

    def __post_init__(self) -> None:
        if self.urgent and self.check:
            raise ValueError("a decision is urgent or check, never both")

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "urgent": self.urgent,
            "check": self.check,
            "domain": self.domain.value,
            "confidence": round(self.confidence, 3),
            "rules": list(self.rules),
        }


class Classifier(Protocol):
    """Text in, decision out: pure, deterministic, never raises."""

    def classify(self, text: str) -> Decision: ...
