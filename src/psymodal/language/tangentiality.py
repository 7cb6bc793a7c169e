"""Tangentiality: how an answer stays on, or drifts away from, the question it answers.

Elvevåg et al. (2007) compared the question with successive windows of the answer (latent
semantic analysis vectors) and took the slope of the similarities over the answer: an answer
that starts on topic and drifts away has a negative slope. Here the windows are the coherence
windows (:func:`psymodal.language.coherence.window_vectors`: consecutive, non-overlapping
windows of ``window_words`` content words, each the mean of its unit-length word vectors) and
the prompt is the mean unit vector of the prompt's content words, in the same embedding space.

- ``prompt_similarity``: mean cosine similarity of the windows to the prompt (how much the
  answer is about the prompt at all);
- ``tangentiality_slope``: least-squares slope of that similarity over the window number
  (change per window of ``window_words`` content words; negative = drifting away).

The prompt is the task's text in ``language.prompts`` (the question or instruction the
participant answered). Both features are NaN when the task has no prompt, when the prompt has
no content word, or with fewer than two windows.

Reference
---------
Elvevåg, B., Foltz, P. W., Weinberger, D. R., & Goldberg, T. E. (2007). Quantifying
incoherence in speech: an automated methodology and novel application to schizophrenia.
Schizophrenia Research, 93, 304-316.
"""

from __future__ import annotations

import math

import numpy as np

from .coherence import Embeddings, window_vectors
from .lexicon import is_content, tokens

__all__ = ["TANGENTIALITY_NAMES", "prompt_vector", "tangentiality_features"]

TANGENTIALITY_NAMES = ("prompt_similarity", "tangentiality_slope")


def prompt_vector(prompt: str, embeddings: Embeddings) -> np.ndarray | None:
    """Mean unit vector of the prompt's content words (None when it has none)."""
    content = [w for w in tokens(prompt) if is_content(w)]
    if not content:
        return None
    return embeddings.word_vectors(content).mean(axis=0)


def tangentiality_features(
    words: list[str], prompt: str | None, embeddings: Embeddings, window_words: int
) -> dict[str, float]:
    """``prompt_similarity`` and ``tangentiality_slope`` of an answer (see the module notes).

    Parameters
    ----------
    words : list of str
        The participant's words, fillers removed.
    prompt : str or None
        The question or instruction answered; None gives NaN features.
    embeddings : Embeddings
        Word embeddings (:func:`psymodal.language.coherence.load_embeddings`).
    window_words : int
        Content words per window.
    """
    undefined = dict.fromkeys(TANGENTIALITY_NAMES, math.nan)
    target = prompt_vector(prompt, embeddings) if prompt is not None else None
    windows = window_vectors(words, embeddings, window_words)
    if target is None or len(windows) < 2:
        return undefined
    norms = np.linalg.norm(windows, axis=1) * float(np.linalg.norm(target))
    similarity = np.divide(
        windows @ target, norms, out=np.full(len(windows), np.nan), where=norms > 0
    )
    position = np.arange(len(windows), dtype=float)
    keep = np.isfinite(similarity)
    if keep.sum() < 2:
        return undefined
    slope = np.polyfit(position[keep], similarity[keep], 1)[0]
    return {
        "prompt_similarity": float(similarity[keep].mean()),
        "tangentiality_slope": float(slope),
    }
