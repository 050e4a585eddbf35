"""Which emergency numbers a reporter is given: the general ones always, the gas and lift lines only when
the report is about gas or a lift (read from the rules that fired and from the words themselves)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.texts import alarm as texts
from config.settings import EmergencySettings

_LIFT_RULE = re.compile(r"(^|[._])lift([._]|$)")
_GAS_RULE = re.compile(r"(^|[._])gas([._]|$)")
LIFT_WORDS = ("电梯", "升降机", "轿厢", "困梯", "𨋢", "lift", "升降機", "電梯")
GAS_WORDS = ("煤气", "燃气", "天然气", "液化气", "石油气", "煤氣", "燃氣", "gas")


def _about(rules: Sequence[str], text: str, rule: re.Pattern[str], words: Sequence[str]) -> bool:
    lowered = text.lower()
    if any(word in lowered for word in words):
        return True
    for name in rules:
        if name.startswith("model:"):
            if any(word in name for word in words):
                return True
        elif rule.search(name):
            return True
    return False


def about_lift(rules: Sequence[str], text: str) -> bool:
    return _about(rules, text, _LIFT_RULE, LIFT_WORDS)


def about_gas(rules: Sequence[str], text: str) -> bool:
    return _about(rules, text, _GAS_RULE, GAS_WORDS)


def emergency_advice(numbers: EmergencySettings, rules: Sequence[str], text: str) -> str:
    """The emergency numbers for a report whose decision fired ``rules`` on ``text``."""
    return texts.emergency_advice(
        numbers.fire,
        numbers.medical,
        numbers.police,
        numbers.duty_phone,
        gas=numbers.gas if about_gas(rules, text) else None,
        lift=numbers.lift if about_lift(rules, text) else None,
    )
