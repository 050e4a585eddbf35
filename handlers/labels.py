"""A ticket's labels (kind, urgency, service area), what each correction from the grid makes of them, and
what the corrections of one ticket teach the classifier.

The labels a correction exports for training start from the classifier's decision and take only what a
correction changed: a ticket made major by three households, or urgent because nobody answered a check,
says nothing about its words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from config.schedule import DOMAINS
from storage.models import Ticket


class Change(StrEnum):
    """What a correction sets (stored as ``ticket_corrections.change``)."""

    MAJOR = "major"
    TRIVIAL = "trivial"
    NOISE = "noise"
    DOMAIN = "domain"
    URGENT = "urgent"
    NOT_URGENT = "not_urgent"


class Tier(StrEnum):
    """Kind and urgency as one scale, the way the grid speaks of a ticket."""

    NOISE = "noise"
    TRIVIAL = "trivial"
    MAJOR = "major"
    URGENT = "urgent"


@dataclass(frozen=True)
class Labels:
    kind: str
    urgent: bool
    domain: str

    @classmethod
    def of(cls, ticket: Ticket) -> Labels:
        return cls(ticket.kind, ticket.urgent, ticket.domain)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Labels:
        return cls(str(data.get("kind", "trivial")), bool(data.get("urgent", False)), str(data.get("domain", "其他")))

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "urgent": self.urgent, "domain": self.domain}

    @property
    def tier(self) -> Tier:
        return Tier.URGENT if self.urgent else Tier(self.kind)

    def corrected(self, change: Change, domain: str = "") -> Labels:
        """The labels after ``change``; urgent always goes with major, and only with it."""
        if change is Change.MAJOR:
            return replace(self, kind="major")
        if change is Change.TRIVIAL:
            return replace(self, kind="trivial", urgent=False)
        if change is Change.NOISE:
            return replace(self, kind="noise", urgent=False)
        if change is Change.DOMAIN:
            return replace(self, domain=domain)
        if change is Change.URGENT:
            return replace(self, kind="major", urgent=True)
        return replace(self, urgent=False)


def find_domain(wanted: str) -> str | None:
    """One of the eight service areas by its name, or by a part of it that names only one (卫生 -> 环境卫生)."""
    wanted = wanted.strip()
    if not wanted:
        return None
    if wanted in DOMAINS:
        return wanted
    matches = [d for d in DOMAINS if wanted in d or d in wanted]
    return matches[0] if len(matches) == 1 else None


Confusion = tuple[str, str, str]
"""(what: "tier" or "domain", from, to)."""


def confusions(before: Labels, after: Labels) -> list[Confusion]:
    """What one correction says the classifier confused: the tier (小事→大事), the service area, or both."""
    found: list[Confusion] = []
    if before.tier is not after.tier:
        found.append(("tier", before.tier.value, after.tier.value))
    if before.domain != after.domain and after.kind != "noise":
        found.append(("domain", before.domain, after.domain))
    return found


@dataclass(frozen=True)
class TrainingLabels:
    """A corrected ticket as a line of the labelled corpus ``linli nlp train`` reads."""

    kind: str
    urgent: bool
    domain: str
    check: bool

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "urgent": self.urgent, "domain": self.domain}
        if self.check:
            out["check"] = True
        return out


def training_labels(decision: Mapping[str, Any], changes: Iterable[tuple[Labels, Labels]]) -> TrainingLabels:
    """The classifier's ``decision`` with every field the corrections (before, after) changed, in order.

    ``check`` stays as the classifier had it (a possible danger verified harmless was still worth a look),
    unless the grid made the ticket urgent or no problem at all.
    """
    labels = Labels.from_json(decision)
    for before, after in changes:
        if after.kind != before.kind:
            labels = replace(labels, kind=after.kind)
        if after.urgent != before.urgent:
            labels = replace(labels, urgent=after.urgent)
        if after.domain != before.domain:
            labels = replace(labels, domain=after.domain)
    if labels.urgent:
        labels = replace(labels, kind="major")
    check = bool(decision.get("check")) and not labels.urgent and labels.kind != "noise"
    return TrainingLabels(labels.kind, labels.urgent, labels.domain, check)
