"""Semantic coherence: how related consecutive stretches of speech are in meaning.

The content words (:func:`psymodal.language.lexicon.is_content`) are cut into consecutive,
non-overlapping windows of ``window_words``; a window is the mean of its words' unit-length
embeddings. First-order coherence is the mean cosine similarity of consecutive windows,
second-order coherence that of windows two apart (Bedi et al. 2015's first- and second-order
coherence, on fixed word windows rather than phrases so that recognised speech without
punctuation is treated like a transcript); ``coherence_min`` is the lowest consecutive
similarity (Bedi's minimum phrase-to-phrase coherence). Function words and fillers are left
out because they make every window alike (Iter et al. 2018).

Embeddings are static token embeddings: wordllama's ``l2_supercat_256`` (MIT licence; 256
dimensions; its weights and tokenizer ship in the wordllama wheel), or a lab's folder with the
same layout. A word's vector is the mean of its sub-word token vectors. Nothing is downloaded.

References
----------
- Elvevåg, B., Foltz, P. W., Weinberger, D. R., & Goldberg, T. E. (2007). Quantifying
  incoherence in speech: an automated methodology and novel application to schizophrenia.
  Schizophrenia Research, 93, 304-316.
- Bedi, G., Carrillo, F., Cecchi, G. A., et al. (2015). Automated analysis of free speech
  predicts psychosis onset in high-risk youths. npj Schizophrenia, 1, 15030.
- Iter, D., Yoon, J., & Jurafsky, D. (2018). Automatic detection of incoherent speech for
  diagnosing schizophrenia. CLPsych workshop, 136-146.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from .lexicon import is_content

__all__ = ["Embeddings", "coherence_features", "load_embeddings"]


class Embeddings:
    """Static token embeddings with a tokenizer: unit-length vectors of words.

    Parameters
    ----------
    matrix : numpy.ndarray
        Token embedding matrix (vocabulary x dimensions).
    tokenizer : tokenizers.Tokenizer
        Splits a word into token ids of ``matrix``.
    name : str
        Recorded with the features.
    """

    def __init__(self, matrix: np.ndarray, tokenizer, name: str):
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self.tokenizer = tokenizer
        self.name = name
        self._cache: dict[str, np.ndarray] = {}

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """Unit-length vector of each word (zero for a word without tokens)."""
        missing = sorted({w for w in words if w not in self._cache})
        if missing:
            encoded = self.tokenizer.encode_batch(
                [" " + w for w in missing], add_special_tokens=False
            )
            for word, enc in zip(missing, encoded, strict=True):
                ids = [i for i in enc.ids if 0 <= i < len(self.matrix)]
                vector = self.matrix[ids].mean(axis=0) if ids else np.zeros(self.matrix.shape[1])
                norm = float(np.linalg.norm(vector))
                self._cache[word] = (vector / norm if norm > 0 else vector).astype(np.float32)
        return np.array([self._cache[w] for w in words], dtype=np.float32).reshape(
            len(words), self.matrix.shape[1]
        )


def _files(folder: Path) -> tuple[Path, Path]:
    weights = sorted(folder.glob("*.safetensors"))
    tokenizer = sorted(folder.glob("*.json"))
    if len(weights) != 1 or len(tokenizer) != 1:
        raise FileNotFoundError(
            f"language.coherence.model_dir {folder} must hold one *.safetensors file (tensor "
            f"embedding.weight) and one tokenizer *.json; found {len(weights)} and {len(tokenizer)}"
        )
    return weights[0], tokenizer[0]


@functools.lru_cache(maxsize=4)
def load_embeddings(model_dir: str | None = None) -> Embeddings:
    """Load static embeddings: wordllama's shipped model (``model_dir`` None) or a folder."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    if model_dir is None:
        # the files only: importing wordllama itself loads pydantic and its download code
        from importlib.metadata import version
        from importlib.util import find_spec

        root = Path(find_spec("wordllama").origin).parent
        weights = root / "weights" / "l2_supercat_256.safetensors"
        tokenizer = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
        name = f"wordllama-{version('wordllama')}/l2_supercat_256"
    else:
        weights, tokenizer = _files(Path(model_dir))
        name = Path(model_dir).name
    with safe_open(str(weights), framework="np") as handle:
        matrix = handle.get_tensor("embedding.weight")
    return Embeddings(matrix, Tokenizer.from_file(str(tokenizer)), name)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)


def window_vectors(words: list[str], embeddings: Embeddings, window_words: int) -> np.ndarray:
    """Mean embedding of each complete window of ``window_words`` content words."""
    content = [w for w in words if is_content(w)]
    n_windows = len(content) // window_words
    if n_windows == 0:
        return np.zeros((0, embeddings.matrix.shape[1]), dtype=np.float32)
    vectors = embeddings.word_vectors(content[: n_windows * window_words])
    return vectors.reshape(n_windows, window_words, -1).mean(axis=1)


def coherence_features(
    words: list[str], embeddings: Embeddings, window_words: int
) -> dict[str, float]:
    """``coherence_first_order``, ``coherence_second_order`` and ``coherence_min`` (NaN when
    there are too few windows: two for first order, three for second order)."""
    windows = window_vectors(words, embeddings, window_words)
    first = _cosine(windows[:-1], windows[1:]) if len(windows) >= 2 else np.array([])
    second = _cosine(windows[:-2], windows[2:]) if len(windows) >= 3 else np.array([])
    return {
        "coherence_first_order": float(np.nanmean(first)) if len(first) else math.nan,
        "coherence_second_order": float(np.nanmean(second)) if len(second) else math.nan,
        "coherence_min": float(np.nanmin(first)) if len(first) else math.nan,
    }
