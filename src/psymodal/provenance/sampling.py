"""Which subjects a sampled rerun (``psymodal audit --rerun --subjects N``) re-executes.

Re-running every subject of a large study takes as long as the study did; re-running a sample
catches a forgery with a known probability, provided the forger cannot know the sample in
advance. The sample is therefore drawn at random: from ``--seed`` when given (to repeat an
audit), otherwise from the current time, and the seed is printed in the report.

Probability model. Say ``k`` of the ``n`` subjects have forged (or otherwise non-reproducible)
per-subject outputs, and the audit re-runs ``N`` subjects drawn uniformly without
replacement. The rerun misses every forged subject only when all ``N`` come from the
``n - k`` genuine ones, so::

    P(found) = 1 - C(n - k, N) / C(n, N)

(hypergeometric; ``P = N / n`` for one forged subject). :func:`detection_probability`
computes it and :func:`subjects_needed` the smallest ``N`` that reaches a wanted probability.
A sample says nothing about group tables or learning (other checks cover those), and nothing
about a forgery that the rerun itself reproduces (forged inputs).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from math import comb

import numpy as np


def time_seed() -> int:
    """A seed from the current time (nanoseconds), for audits that do not give one."""
    return time.time_ns() % (2**63)


def draw_subjects(subjects: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` subjects drawn uniformly without replacement, returned sorted.

    Parameters
    ----------
    subjects : sequence of str
        Every subject with per-subject outputs (the order does not matter: they are sorted
        first, so a seed always draws the same subjects).
    n : int
        How many; all of them when ``n >= len(subjects)``.
    seed : int

    Returns
    -------
    list of str
    """
    pool = sorted(set(subjects))
    if n >= len(pool):
        return pool
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(pool), size=n, replace=False)
    return sorted(pool[i] for i in picked)


def detection_probability(n: int, k: int, sample: int) -> float:
    """``1 - C(n - k, N) / C(n, N)``: the chance that a sample of ``sample`` subjects out of
    ``n`` includes at least one of ``k`` forged ones."""
    if not 0 <= k <= n or sample < 0:
        raise ValueError(f"need 0 <= k <= n and N >= 0 (n={n}, k={k}, N={sample})")
    sample = min(sample, n)
    return 1.0 - comb(n - k, sample) / comb(n, sample)


def subjects_needed(n: int, k: int, probability: float) -> int:
    """The smallest sample that finds one of ``k`` forged subjects out of ``n`` with at least
    ``probability`` (``n`` when even all of them cannot, i.e. ``k == 0``)."""
    for sample in range(n + 1):
        if detection_probability(n, k, sample) >= probability:
            return sample
    return n
