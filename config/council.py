"""Settings for the residents' council and the residents' voice (docs/council.md).

Who may record each step of 四议两公开, the rules of household votes (who votes, what share of households
must take part and agree), the 楼长信箱, and the monthly collection of needs. Checked when the settings
load, so a bad share or cron line stops ``linli run`` at start-up with the key and the reason.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, field_validator

from config.schedule import Cron, Duration, cron_trigger

ORG_ROLES = ("resident", "building_leader", "branch_secretary", "committee")
COUNCIL_ROLES = ("party_meeting", "representatives")
"""Roles the org file may give people on the council (``council_roles``): who records the 党员大会 (party
members' meeting) and the 居民代表会议 (residents' representatives' meeting)."""
ROLES = ORG_ROLES + COUNCIL_ROLES


class Stage(StrEnum):
    """The steps of 四议两公开, in order."""

    PROPOSAL = "proposal"
    CONSULTATION = "consultation"
    REVIEW = "review"
    RESOLUTION = "resolution"
    RESOLUTION_PUBLISHED = "resolution_published"
    RESULT_PUBLISHED = "result_published"


STAGES: tuple[Stage, ...] = tuple(Stage)


def _roles(value: object) -> object:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        unknown = [str(r) for r in value if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)} (one of {', '.join(ROLES)})")
        if not value:
            raise ValueError("name at least one role")
    return value


Roles = Annotated[list[str], BeforeValidator(_roles)]


class MayRecord(BaseModel):
    """Who may take an item to the council (``add``) and record each step: org roles or council roles."""

    model_config = {"extra": "forbid"}

    add: Roles = Field(default_factory=lambda: ["committee"])
    proposal: Roles = Field(default_factory=lambda: ["branch_secretary"])
    consultation: Roles = Field(default_factory=lambda: ["committee"])
    review: Roles = Field(default_factory=lambda: ["party_meeting"])
    resolution: Roles = Field(default_factory=lambda: ["representatives"])
    resolution_published: Roles = Field(default_factory=lambda: ["committee"])
    result_published: Roles = Field(default_factory=lambda: ["committee"])

    def roles(self, step: str) -> list[str]:
        roles: list[str] = getattr(self, step)
        return roles


_SHARE = re.compile(r"^(>?)(\d+)/(\d+)$")


def parse_share(text: str) -> tuple[Fraction, bool]:
    """``2/3`` -> (2/3, at least); ``>1/2`` -> (1/2, more than); ``0`` -> no threshold."""
    compact = "".join(str(text).split())
    if compact in ("0", ""):
        return Fraction(0), False
    match = _SHARE.match(compact)
    if match is None or int(match.group(3)) == 0 or int(match.group(2)) > int(match.group(3)):
        raise ValueError(f"{text!r} is not a share such as 2/3 (at least), >1/2 (more than half) or 0")
    return Fraction(int(match.group(2)), int(match.group(3))), bool(match.group(1))


def share_reached(share: str, count: int, base: int | None) -> bool:
    """Whether ``count`` out of ``base`` reaches ``share``, exactly (no rounding: 2/3 of 12 is 8)."""
    fraction, more_than = parse_share(share)
    if fraction == 0:
        return True
    if not base:
        return False
    return Fraction(count, base) > fraction if more_than else Fraction(count, base) >= fraction


def _share(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(Fraction(str(value)).limit_denominator(100)) if value else "0"
    if isinstance(value, str):
        parse_share(value)
        return "".join(value.split())
    return value


Share = Annotated[str, BeforeValidator(_share)]


class Eligible(StrEnum):
    ALL = "all"
    """Every household of the unit."""
    OWNERS = "owners"
    """Only owner households (业主), as the org file marks them."""


class ShareOf(StrEnum):
    VOTED = "voted"
    """Of the households that took part (abstentions included)."""
    ELIGIBLE = "eligible"
    """Of all households entitled to vote."""


class VoteRule(BaseModel):
    """Who votes and what must be reached for a household vote to pass."""

    model_config = {"extra": "forbid"}

    name: str = "一般事项"
    words: list[str] = Field(default_factory=list)
    """The rule applies to a vote whose title contains any of these words (the first rule that matches)."""
    eligible: Eligible = Eligible.ALL
    turnout: Share = "0"
    """Share of the eligible households that must take part (0: none required)."""
    approve: Share = ">1/2"
    """Share of ``approve_of`` that must agree: ``2/3`` (at least two thirds), ``>1/2`` (more than half)."""
    approve_of: ShareOf = ShareOf.VOTED


def _default_rules() -> list[VoteRule]:
    return [
        VoteRule(
            name="加装电梯",
            words=["加装电梯", "装电梯", "电梯加装"],
            eligible=Eligible.OWNERS,
            turnout="2/3",
            approve="2/3",
            approve_of=ShareOf.ELIGIBLE,
        ),
        VoteRule(
            name="选聘或解聘物业",
            words=["物业公司", "更换物业", "换物业", "选聘物业", "解聘物业"],
            eligible=Eligible.OWNERS,
            turnout="2/3",
            approve=">1/2",
            approve_of=ShareOf.VOTED,
        ),
    ]


class VoteSettings(BaseModel):
    model_config = {"extra": "forbid"}

    may_start: Roles = Field(default_factory=lambda: ["committee", "branch_secretary"])
    default_days: int = Field(default=7, ge=1, le=90)
    """How long a vote runs when 发起表决 names no deadline."""
    rules: list[VoteRule] = Field(default_factory=_default_rules)
    default: VoteRule = VoteRule()
    """For a vote no rule's words match."""

    def rule_for(self, title: str) -> VoteRule:
        for rule in self.rules:
            if any(word and word in title for word in rule.words):
                return rule
        return self.default


class SuggestionSettings(BaseModel):
    model_config = {"extra": "forbid"}

    reply_within: Duration = timedelta(days=3)
    """The leader is asked to answer a suggestion within this time; the sender is told the date."""
    committee_sees_anonymous: bool = False
    """Whether the committee (``linli suggestions``) sees who sent an anonymous suggestion."""


def _valid_cron(value: str) -> str:
    cron_trigger(value, "Asia/Shanghai")
    return value


class NeedsSettings(BaseModel):
    model_config = {"extra": "forbid"}

    enabled: bool = True
    cron: Annotated[Cron, AfterValidator(_valid_cron)] = "0 10 1 * *"
    """When each month's round asks every group for needs (default: the 1st at 10:00)."""
    window: Duration = timedelta(days=3)
    """Replies within this time after the question are collected."""
    cues: list[str] = Field(
        default_factory=lambda: ["希望", "需要", "想要", "想有", "能不能", "可不可以", "建议", "盼"]
    )
    """Words that make a reply in the window a need even when the classifier reads it as chat."""

    @field_validator("cues")
    @classmethod
    def _cues(cls, value: list[str]) -> list[str]:
        return [cue for cue in (c.strip() for c in value) if cue]


class CouncilConfig(BaseModel):
    model_config = {"extra": "forbid"}

    may_record: MayRecord = MayRecord()
    agenda_to: Roles = Field(default_factory=lambda: ["committee", "party_meeting", "representatives"])
    """Who receives the agenda before each meeting: the council's members, by role."""
    votes: VoteSettings = VoteSettings()
    suggestions: SuggestionSettings = SuggestionSettings()
    needs: NeedsSettings = NeedsSettings()
