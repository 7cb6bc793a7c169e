"""File names of the language stage's inputs and outputs: the one place they are decided.

Inputs (psymodal's convention, next to the recordings; BIDS has no transcript datatype)::

    sub-XX/[ses-YY/]audio/sub-XX[_ses-YY]_task-T[_run-N]_transcript.tsv   onset, duration, word
                                                                           [, speaker, confidence]
    sub-XX/[ses-YY/]audio/sub-XX[_ses-YY]_task-T[_run-N]_transcript.txt   plain UTF-8 text

Layout of a language stage folder (BIDS-Derivatives style; ``T`` is the configured task, or
``all`` when every task is used)::

    sub-XX/language/sub-XX_task-T_features.tsv
    sub-XX/language/sub-XX_task-T_desc-qc.tsv
    sub-XX/language/<recording stem>_desc-asr_transcript.tsv   words recognised by the ASR

Only the standard library is imported.
"""

from __future__ import annotations

from pathlib import Path

from psymodal.speech.paths import task_tables

#: Suffixes of transcript files, in order of preference when both exist.
TRANSCRIPT_SUFFIXES = ("_transcript.tsv", "_transcript.txt")


def subject_outputs(subject: str, out_dir, task: str | None = None) -> dict[str, Path]:
    """The per-subject features and QC tables (``features``, ``qc``).

    Parameters
    ----------
    subject : str
        ``sub-<label>``, used as given.
    out_dir : path
        The stage folder.
    task : str, optional
        The configured task; ``all`` in the names when None or empty.
    """
    return task_tables(subject, out_dir, task, "language")


def recording_stem(path: Path) -> str:
    """``sub-01_task-x_audio.wav`` or ``sub-01_task-x_transcript.tsv`` -> ``sub-01_task-x``."""
    name = Path(path).name
    for suffix in TRANSCRIPT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    stem = name.rsplit(".", 1)[0]
    return stem[: -len("_audio")] if stem.endswith("_audio") else stem


def asr_transcript(out_dir, subject: str, recording: Path) -> Path:
    """Where the words recognised in ``recording`` are written (a transcript TSV)."""
    return (
        Path(out_dir)
        / subject
        / "language"
        / f"{recording_stem(recording)}_desc-asr_transcript.tsv"
    )
