"""The tally of a household vote: one choice per household counted against the rule stored with the vote.

Pure but for ``recount``, which reads the stored ballots: the tally announced at the deadline, the running
count and ``linli council vote`` all come from here, so a recount always gives the announced figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import votes as texts
from config.council import Eligible, ShareOf, VoteRule, parse_share, share_reached
from storage.council_models import Vote
from storage.vote_repo import VoteRepo

AGREE, OPPOSE, ABSTAIN = "agree", "oppose", "abstain"
CHOICES = (AGREE, OPPOSE, ABSTAIN)


def rule_snapshot(rule: VoteRule) -> dict[str, Any]:
    """The rule as stored with a vote when it starts, words included."""
    text = texts.rule_text(
        rule.eligible is Eligible.OWNERS,
        parse_share(rule.turnout),
        parse_share(rule.approve),
        rule.approve_of is ShareOf.ELIGIBLE,
    )
    return {
        "name": rule.name,
        "eligible": rule.eligible.value,
        "turnout": rule.turnout,
        "approve": rule.approve,
        "approve_of": rule.approve_of.value,
        "text": text,
    }


@dataclass(frozen=True)
class Tally:
    agree: int
    oppose: int
    abstain: int
    eligible: int | None
    turnout_reached: bool
    approval_reached: bool
    rule: str

    @property
    def voted(self) -> int:
        return self.agree + self.oppose + self.abstain

    @property
    def passed(self) -> bool:
        return self.turnout_reached and self.approval_reached

    def as_json(self) -> dict[str, Any]:
        return {
            "agree": self.agree,
            "oppose": self.oppose,
            "abstain": self.abstain,
            "voted": self.voted,
            "eligible": self.eligible,
            "turnout_reached": self.turnout_reached,
            "approval_reached": self.approval_reached,
            "passed": self.passed,
            "rule": self.rule,
        }

    def figures(self) -> texts.Figures:
        return texts.Figures(self.agree, self.oppose, self.abstain, self.eligible, self.passed, self.rule)


def tally(choices: Mapping[str, str], eligible: int | None, rule: Mapping[str, Any]) -> Tally:
    """Count one choice per household against the vote's rule (as stored when it started)."""
    counts = Counter(choices.values())
    voted = sum(counts[c] for c in CHOICES)
    base = eligible if rule["approve_of"] == ShareOf.ELIGIBLE else voted
    return Tally(
        agree=counts[AGREE],
        oppose=counts[OPPOSE],
        abstain=counts[ABSTAIN],
        eligible=eligible,
        turnout_reached=share_reached(rule["turnout"], voted, eligible),
        approval_reached=share_reached(rule["approve"], counts[AGREE], base),
        rule=str(rule["text"]),
    )


async def recount(session: AsyncSession, vote: Vote) -> Tally:
    """The tally from the stored ballots: each household's latest choice."""
    return tally(await VoteRepo(session).current(vote.id), vote.eligible, vote.rule)
