"""The language features of one transcript, and their names.

Groups (each documented with its references in its module):

- lexical (:mod:`~psymodal.language.lexical`): ``word_count``, ``words_per_minute``,
  ``mean_utterance_words``, ``mattr``, ``honore_r``, ``brunet_w``, ``mean_word_frequency``,
  ``content_function_ratio``;
- pronouns, fillers and repetitions: ``first_person_singular_rate``,
  ``first_person_plural_rate``, ``filler_rate``, ``repetition_rate``;
- speech graphs (:mod:`~psymodal.language.graphs`): ``graph_nodes``, ``graph_edges``,
  ``graph_lcc``, ``graph_lsc``, ``graph_loops1``, ``graph_loops2``, ``graph_loops3``;
- semantic coherence (:mod:`~psymodal.language.coherence`): ``coherence_first_order``,
  ``coherence_second_order``, ``coherence_min``;
- tangentiality to the task's prompt (:mod:`~psymodal.language.tangentiality`):
  ``prompt_similarity``, ``tangentiality_slope`` (NaN without a prompt in
  ``language.prompts``).

A feature that needs more words than a transcript has is NaN (MATTR: ``mattr_window``
words; graphs: ``graph_window`` words; coherence: two or three windows of content words).
"""

from __future__ import annotations

from collections.abc import Mapping

from psymodal.settings import resolve_section

from .coherence import Embeddings, coherence_features, load_embeddings
from .graphs import GRAPH_MEASURES, speech_graph_features
from .lexical import lexical_features
from .lexicon import FILLERS
from .tangentiality import TANGENTIALITY_NAMES, tangentiality_features
from .transcripts import Transcript

__all__ = ["FEATURE_NAMES", "extract_features", "feature_names", "resolve_settings"]

FEATURE_NAMES = (
    "word_count",
    "words_per_minute",
    "mean_utterance_words",
    "mattr",
    "honore_r",
    "brunet_w",
    "mean_word_frequency",
    "content_function_ratio",
    "first_person_singular_rate",
    "first_person_plural_rate",
    "filler_rate",
    "repetition_rate",
    *(f"graph_{m}" for m in GRAPH_MEASURES),
    "coherence_first_order",
    "coherence_second_order",
    "coherence_min",
    *TANGENTIALITY_NAMES,
)


def feature_names() -> list[str]:
    """Column names of the language features table (after ``participant_id``)."""
    return list(FEATURE_NAMES)


def resolve_settings(settings: Mapping | None) -> dict:
    """The ``language`` section with every default filled (unknown keys are an error)."""
    return resolve_section("language", settings)


def _split_utterances(transcript: Transcript, pause_s: float):
    """Utterance numbers with the pauses of a timed transcript also ending utterances."""
    import numpy as np

    if not transcript.timed or not transcript.words:
        return transcript.utterances
    gaps = np.r_[0.0, transcript.onsets[1:] - transcript.offsets[:-1]]
    turns = np.r_[0, np.diff(transcript.utterances)] != 0
    return np.cumsum((gaps >= pause_s) | turns)


def extract_features(
    transcript: Transcript,
    settings: Mapping | None = None,
    embeddings: Embeddings | None = None,
    prompt: str | None = None,
) -> dict[str, float]:
    """Every language feature of one transcript (see the module notes).

    Parameters
    ----------
    transcript : Transcript
        The participant's words (:func:`psymodal.language.transcripts.read_transcript` or
        :func:`psymodal.language.asr.recognise`).
    settings : mapping, optional
        The ``language`` section of the configuration.
    embeddings : Embeddings, optional
        Word embeddings for coherence (default: :func:`load_embeddings` of
        ``coherence.model_dir``).
    prompt : str, optional
        The question or instruction the transcript answers (``language.prompts`` of its task);
        None leaves the tangentiality features NaN.

    Returns
    -------
    dict
        :data:`FEATURE_NAMES` -> value (NaN where undefined).
    """
    cfg = resolve_settings(settings)
    if embeddings is None:
        embeddings = load_embeddings(cfg["coherence"]["model_dir"])
    tokens = transcript.words
    utterances = _split_utterances(transcript, cfg["utterance_pause_s"])
    words = [t for t in tokens if t not in FILLERS]
    out = lexical_features(
        tokens, utterances, transcript.onsets, transcript.offsets, cfg["mattr_window"]
    )
    out.update(speech_graph_features(words, cfg["graph_window"]))
    window = cfg["coherence"]["window_words"]
    out.update(coherence_features(words, embeddings, window))
    out.update(tangentiality_features(words, prompt, embeddings, window))
    return {name: float(out[name]) for name in FEATURE_NAMES}
