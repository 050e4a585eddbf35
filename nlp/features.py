"""The learned layer's features: what a message looks like to the linear model.

Computed from the text the rules already normalised and the tokens they already cut, so the model costs
no second normalisation or segmentation. A message becomes a bag of short strings (a feature may occur
more than once):

* for each jieba token that is a word: ``w:TOKEN`` (digits fold to ``w:#``; punctuation is left out),
  and ``c:X`` / ``c:XY`` for each CJK character of the token and each pair of adjacent ones in it;
* ``c:XY`` for each pair of CJK characters that meet across two adjacent tokens (a space breaks them);
* ``q:?`` when the message asks something.

Together these are every CJK character and character pair of the text (they carry meaning past the
dictionary's cuts, typos and Cantonese forms) plus the words. Grouped by token, so the model can sum a
token's weights once and reuse them (``nlp.model``): only the pairs across tokens are looked up per
message. No length feature: it learned "short means chat" and outvoted short reports (3楼水管漏水).

Training and inference call the same functions, and a model file records :data:`FEATURE_VERSION`, so a
change here that would change the features must bump it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

FEATURE_VERSION = "features-4"
QUESTION = "q:?"


def is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def token_features(token: str) -> list[str]:
    """The features one token contributes on its own (empty for punctuation)."""
    if not token.isalnum():
        return []
    features = ["w:#" if token.isdigit() else "w:" + token]
    previous = ""
    for char in token:
        if is_han(char):
            features.append("c:" + char)
            if previous:
                features.append("c:" + previous + char)
            previous = char
        else:
            previous = ""
    return features


def boundaries(normalised: str, tokens: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(index of the token, the pair feature) for each CJK character pair that spans two adjacent tokens.

    The tokens cover the normalised text in order, spaces left out; a space between two tokens
    breaks their pair."""
    position = 0
    last = ""
    for index, token in enumerate(tokens):
        if not normalised.startswith(token, position):
            found = normalised.find(token, position)
            position = found if found >= 0 else position
            last = ""
        if last and token and is_han(token[0]):
            yield index, "c:" + last + token[0]
        position += len(token)
        last = token[-1] if token and is_han(token[-1]) else ""


def extract(normalised: str, tokens: Sequence[str]) -> list[str]:
    """Every feature of one message, with repeats, in a fixed order (tokens, pairs across tokens, ?)."""
    features = [feature for token in tokens for feature in token_features(token)]
    features += [pair for _, pair in boundaries(normalised, tokens)]
    if "?" in normalised:
        features.append(QUESTION)
    return features


def display(feature: str) -> str:
    """How a feature is shown in an explanation: 渗水 for ``w:渗水`` or ``c:渗水``."""
    return feature.split(":", 1)[1] if ":" in feature else feature
