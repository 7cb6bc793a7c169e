"""Per-subject language stage: find transcripts (or recognise recordings), write features and QC.

Aggregation rule (as the speech stage): with several usable recordings, each feature is the
unweighted mean over the recordings where it is defined (NaN-aware); ``word_count`` in the QC
row is the sum.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.tables import write_tsv

from .asr import ASRModelError
from .features import extract_features, feature_names, resolve_settings
from .lexical import english_fraction
from .lexicon import FILLERS, is_content, tokens
from .paths import asr_transcript
from .transcripts import Source, TranscriptError, read_transcript, recording_duration

__all__ = ["process_subject", "sources_searched", "write_transcript"]


def sources_searched(subject: str, task: str | None = None) -> str:
    """What :func:`find_sources` looks for, in words (for the QC reason when none is found)."""
    sub = subject if subject.startswith("sub-") else f"sub-{subject}"
    t = task or "*"
    return (
        f"{'task-' + task if task else 'any task'} (searched {sub}/[ses-*/]audio/{sub}[_ses-*]"
        f"_task-{t}[_*]_transcript.{{tsv,txt}} and _audio.{{wav,flac,ogg}})"
    )


def _shown(path: Path, dataset_dir) -> str:
    """How QC reasons name a file: its path inside the dataset (never absolute), else its name."""
    if dataset_dir is not None:
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(dataset_dir)).as_posix()
        except ValueError:
            pass
    return Path(path).name


def write_transcript(transcript, path: Path) -> Path:
    """Write a timed transcript as a transcript TSV (onset, duration, word, confidence)."""
    table = pd.DataFrame(
        {
            "onset": np.round(transcript.onsets, 3),
            "duration": np.round(transcript.offsets - transcript.onsets, 3),
            "word": transcript.words,
        }
    )
    return write_tsv(table, path)


def _recognise(source: Source, cfg: dict, out_dir, subject: str):
    from .asr import recognise_file

    asr = cfg["asr"]
    transcript = recognise_file(source.audio, asr["model_dir"], asr["max_segment_s"], asr["engine"])
    if out_dir is not None:
        write_transcript(transcript, asr_transcript(out_dir, subject, source.audio))
    return transcript


def _transcript_of(source: Source, cfg: dict, out_dir, subject: str):
    """The source's transcript (read, or recognised), or None when the source has none to use."""
    use_file = source.transcript is not None and cfg["source"] != "asr"
    if use_file:
        return read_transcript(
            source.transcript,
            cfg["exclude_speakers"],
            cfg["utterance_pause_s"],
            recording_duration(source.audio, source.transcript),
            cfg["qc"]["max_overrun_s"],
        )
    if source.audio is not None and cfg["source"] != "transcript":
        return _recognise(source, cfg, out_dir, subject)
    return None


def _usable(transcript, cfg: dict) -> str:
    """Why a transcript cannot be used ('' when it can)."""
    qc = cfg["qc"]
    words = [w for w in transcript.words if w not in FILLERS]
    if not words:
        return "no words recognised" if transcript.source == "asr" else "no participant words"
    limit = qc["min_asr_confidence"]
    if limit is not None and transcript.confidence is not None and transcript.confidence < limit:
        return f"low ASR confidence ({transcript.confidence:.2f} < {limit:g})"
    limit = qc["min_english_fraction"]
    share = english_fraction(words)
    if limit is not None and share < limit:
        return (
            f"language not English? (only {share:.0%} of the distinct words are in wordfreq's "
            f"English list; < {limit:.0%})"
        )
    return ""


def _prompt(source: Source, cfg: dict) -> tuple[str | None, str]:
    """The prompt of the source's task, and why there is none ('' when there is one)."""
    prompts = cfg["prompts"]
    if source.task not in prompts:
        return None, f"no prompt for task-{source.task} in language.prompts: tangentiality n/a"
    prompt = prompts[source.task]
    if not any(is_content(w) for w in tokens(prompt)):
        return None, f"the prompt of task-{source.task} has no content word: tangentiality n/a"
    return prompt, ""


def process_subject(
    subject: str,
    sources: list[Source],
    out_features: Path,
    out_qc: Path,
    settings: dict | None,
    out_dir: str | os.PathLike | None = None,
    dataset_dir: str | os.PathLike | None = None,
    searched: str | None = None,
    strict: bool = False,
) -> None:
    """Extract one subject's language features and write its features and QC rows.

    Never raises for a bad transcript or recording (unless ``strict``): unusable ones are
    listed in the QC row; a subject without a usable one, or with fewer than ``qc.min_words``
    words, gets NaN (``n/a``) features and ``included=False``.

    Parameters
    ----------
    subject : str
        ``sub-01`` or ``01``.
    sources : list of Source
        The subject's transcripts and recordings (:func:`find_sources`).
    out_features, out_qc : Path
        Output TSVs (written atomically).
    settings : dict or None
        The ``language`` section of the configuration.
    out_dir : path, optional
        The stage folder: recognised words are written there
        (:func:`psymodal.language.paths.asr_transcript`).
    dataset_dir : path, optional
        QC reasons name files by their path inside it (never an absolute path).
    searched : str, optional
        What was looked for (:func:`sources_searched`), for a subject without any source.
    strict : bool
        A transcript or recording that cannot be read raises instead of becoming a QC reason.

    Notes
    -----
    QC TSV: ``participant_id, modality, included, reason, n_recordings, n_recordings_used,
    word_count, source`` (``transcript``, ``asr`` or both), ``asr_confidence`` (mean over
    recognised recordings), ``english_fraction``, ``undefined_features`` (features NaN for
    lack of words or of a prompt) and ``notes`` (problems with individual recordings of an
    included subject, and tasks without a prompt in ``language.prompts``).
    """
    cfg = resolve_settings(settings)
    sub = subject if subject.startswith("sub-") else f"sub-{subject}"
    names = feature_names()
    rows, problems, kinds, confidences, shares = [], [], set(), [], []
    notes: list[str] = []  # features left NaN by the settings (no prompt), said once
    for source in sources:
        path = source.transcript if source.transcript and cfg["source"] != "asr" else source.audio
        shown = _shown(path, dataset_dir) if path is not None else source.stem
        try:
            transcript = _transcript_of(source, cfg, out_dir, sub)
        except ASRModelError:  # the settings' fault, not the recording's: stop the run
            raise
        except (TranscriptError, OSError, ValueError, RuntimeError) as err:
            if strict:
                raise
            message = str(err).replace(str(path), shown)
            problems.append(message if shown in message else f"{shown}: {message}")
            continue
        if transcript is None:
            problems.append(f"{shown}: no transcript (language.source: transcript)")
            continue
        reason = _usable(transcript, cfg)
        if reason:
            problems.append(f"{shown}: {reason}")
            continue
        prompt, why = _prompt(source, cfg)
        if why and why not in notes:
            notes.append(why)
        rows.append(extract_features(transcript, cfg, prompt=prompt))
        kinds.add(transcript.source)
        if transcript.source == "asr" and transcript.confidence is not None:
            confidences.append(transcript.confidence)
        shares.append(english_fraction([w for w in transcript.words if w not in FILLERS]))

    word_count = float(sum(r["word_count"] for r in rows))
    min_words = cfg["qc"]["min_words"]
    if rows and word_count >= min_words:
        table = pd.DataFrame(rows)[names]
        feats = table.mean(axis=0, skipna=True)
        included, reason = True, ""
    else:
        feats = pd.Series(np.nan, index=names)
        included = False
        if rows:
            reason = f"too few words ({word_count:g} < qc.min_words {min_words})"
            reason += "; " + "; ".join(problems) if problems else ""
        elif not sources:
            reason = "no transcripts or recordings found" + (f" for {searched}" if searched else "")
        else:
            reason = "no usable transcript: " + "; ".join(problems)
    undefined = [n for n in names if included and math.isnan(feats[n])]
    features_row = pd.DataFrame([{"participant_id": sub, **feats.to_dict()}])
    qc_row = {
        "participant_id": sub,
        "modality": "language",
        "included": included,
        "reason": reason,
        "n_recordings": len(sources),
        "n_recordings_used": len(rows),
        "word_count": word_count if rows else np.nan,
        "source": ";".join(sorted(kinds)),
        "asr_confidence": float(np.mean(confidences)) if confidences else np.nan,
        "english_fraction": float(np.mean(shares)) if shares else np.nan,
        "undefined_features": ";".join(undefined),
        "notes": "; ".join(problems + notes) if included else "",
    }
    write_tsv(features_row[["participant_id", *names]], out_features)
    write_tsv(pd.DataFrame([qc_row]), out_qc)
