"""Lexical, pronoun, filler and fluency measures of one transcript.

Every measure takes the participant's tokens (:func:`psymodal.language.lexicon.tokens`).
Fillers are counted for the filler rate and left out of every other measure (they are not
words of the message).

References
----------
- Covington, M. A., & McFall, J. D. (2010). Cutting the Gordian knot: the moving-average
  type-token ratio (MATTR). Journal of Quantitative Linguistics, 17(2), 94-100.
- Honoré, A. (1979). Some simple measures of richness of vocabulary. Association for Literary
  and Linguistic Computing Bulletin, 7(2), 172-177.
- Brunet, E. (1978). Le vocabulaire de Jean Giraudoux: structure et évolution. Slatkine.
- Speer, R. (2022). wordfreq (v3): Zipf frequency = log10 of occurrences per billion words.
- Pennebaker, J. W., et al. (2015). The development and psychometric properties of LIWC2015.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .lexicon import FILLERS, FIRST_PERSON_PLURAL, FIRST_PERSON_SINGULAR, FUNCTION_WORDS

__all__ = [
    "brunet_w",
    "honore_r",
    "mattr",
    "mean_word_frequency",
    "english_fraction",
    "lexical_features",
]


def mattr(words: list[str], window: int) -> float:
    """Moving-average type-token ratio: the mean type/token ratio over every window of
    ``window`` consecutive words (Covington & McFall 2010); NaN for fewer words."""
    n = len(words)
    if n < window:
        return math.nan
    counts = Counter(words[:window])
    types = [len(counts)]
    for k in range(window, n):
        counts[words[k]] += 1
        gone = words[k - window]
        counts[gone] -= 1
        if counts[gone] == 0:
            del counts[gone]
        types.append(len(counts))
    return float(np.mean(types) / window)


def honore_r(words: list[str]) -> float:
    """Honoré's statistic R = 100 log N / (1 - V1/V): N tokens, V types, V1 types used once.

    Undefined (NaN) when every type is used once (V1 = V)."""
    n, counts = len(words), Counter(words)
    v, v1 = len(counts), sum(1 for c in counts.values() if c == 1)
    if n == 0 or v1 == v:
        return math.nan
    return float(100.0 * math.log(n) / (1.0 - v1 / v))


def brunet_w(words: list[str]) -> float:
    """Brunet's index W = N ** (V ** -0.165) (lower W: richer vocabulary)."""
    n, v = len(words), len(set(words))
    if n == 0:
        return math.nan
    return float(n ** (v**-0.165))


def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def mean_word_frequency(words: list[str]) -> float:
    """Mean wordfreq Zipf frequency of the words found in its English list (rarer words ->
    lower); NaN when none is found."""
    values = [z for z in (_zipf(w) for w in words) if z > 0]
    return float(np.mean(values)) if values else math.nan


def english_fraction(words: list[str]) -> float:
    """Share of the distinct words found in wordfreq's English list (a language check)."""
    distinct = sorted(set(words))
    if not distinct:
        return math.nan
    return float(np.mean([_zipf(w) > 0 for w in distinct]))


def _repetitions(tokens: list[str]) -> int:
    """Immediate repetitions of a word (``I I went``), fillers skipped."""
    words = [t for t in tokens if t not in FILLERS]
    return sum(1 for a, b in zip(words, words[1:], strict=False) if a == b)


def lexical_features(
    tokens: list[str],
    utterances: np.ndarray,
    onsets: np.ndarray | None,
    offsets: np.ndarray | None,
    mattr_window: int,
) -> dict[str, float]:
    """The lexical, pronoun, filler and fluency features of one transcript.

    Parameters
    ----------
    tokens : list of str
        The participant's tokens, fillers included.
    utterances : array of int
        Utterance number of each token.
    onsets, offsets : array or None
        Token start and end times (s); None for an untimed transcript (rate features NaN).
    mattr_window : int
        MATTR window in words.

    Returns
    -------
    dict
        ``word_count`` (fillers excluded), ``words_per_minute`` (words / (last word end -
        first word onset) x 60), ``mean_utterance_words``, ``mattr``, ``honore_r``,
        ``brunet_w``, ``mean_word_frequency`` (Zipf), ``content_function_ratio``,
        ``first_person_singular_rate``, ``first_person_plural_rate`` (per word),
        ``filler_rate`` (fillers per token, fillers included) and ``repetition_rate``
        (immediate word repetitions per word).
    """
    keep = np.array([t not in FILLERS for t in tokens], dtype=bool)
    words = [t for t, k in zip(tokens, keep, strict=True) if k]
    n = len(words)
    rate = math.nan
    if onsets is not None and n:
        span = float(offsets[keep].max() - onsets[keep].min())
        rate = 60.0 * n / span if span > 0 else math.nan
    per_utterance = np.bincount(np.asarray(utterances)[keep]) if n else np.array([])
    per_utterance = per_utterance[per_utterance > 0]
    function = sum(1 for w in words if w in FUNCTION_WORDS)
    content = n - function
    return {
        "word_count": float(n),
        "words_per_minute": rate,
        "mean_utterance_words": float(per_utterance.mean()) if n else math.nan,
        "mattr": mattr(words, mattr_window),
        "honore_r": honore_r(words),
        "brunet_w": brunet_w(words),
        "mean_word_frequency": mean_word_frequency(words),
        "content_function_ratio": content / function if function else math.nan,
        "first_person_singular_rate": sum(w in FIRST_PERSON_SINGULAR for w in words) / n
        if n
        else math.nan,
        "first_person_plural_rate": sum(w in FIRST_PERSON_PLURAL for w in words) / n
        if n
        else math.nan,
        "filler_rate": float(np.mean(~keep)) if tokens else math.nan,
        "repetition_rate": _repetitions(tokens) / n if n else math.nan,
    }
