"""The learned layer's features: what a message looks like to the linear model.

Computed from the text the rules already normalised and the tokens they already cut, so the model costs
no second normalisation or segmentation. A message becomes a set of short strings:

* ``w:TOKEN`` for each jieba token that is a word (digits fold to ``w:#``, punctuation is left out);
* ``c:X`` and ``c:XY`` for each CJK character and each pair of adjacent characters (spaces and
  punctuation break pairs), which carry meaning past the dictionary's cuts, typos and Cantonese forms;
* ``q:?`` when the message asks something.

No length feature: it learned "short means chat" and outvoted the words of short reports (3楼水管漏水).

Training and inference call the same function, and a model file records :data:`FEATURE_VERSION`, so a
change here that would change the features must bump it.
"""

from __future__ import annotations

import re

FEATURE_VERSION = "features-2"

_HAN_RUNS = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]+")


def extract(normalised: str, tokens: list[str] | tuple[str, ...]) -> list[str]:
    """The distinct features of one message, in first-seen order (deterministic)."""
    features = ["w:#" if token.isdigit() else "w:" + token for token in tokens if token.isalnum()]
    for run in _HAN_RUNS.findall(normalised):
        features += ["c:" + char for char in run]
        features += ["c:" + run[index : index + 2] for index in range(len(run) - 1)]
    if "?" in normalised:
        features.append("q:?")
    return list(dict.fromkeys(features))


def display(feature: str) -> str:
    """How a feature is shown in an explanation: 渗水 for ``w:渗水`` or ``c:渗水``."""
    return feature.split(":", 1)[1] if ":" in feature else feature
