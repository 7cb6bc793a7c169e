"""File names of the speech stage's outputs: the one place they are decided.

Layout of a speech stage folder (BIDS-Derivatives style; ``T`` is the configured task, or
``all`` when every task is used)::

    sub-XX/audio/sub-XX_task-T_features.tsv
    sub-XX/audio/sub-XX_task-T_desc-qc.tsv
    sub-XX/figures/<recording name without _audio>_desc-qc_audio.png   one per recording

Only the standard library is imported.
"""

from __future__ import annotations

from pathlib import Path

#: Glob of the per-recording QC figures in ``sub-XX/figures/`` (see :func:`figure_name`).
QC_FIGURE_GLOB = "*_desc-qc_audio.png"


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
    return task_tables(subject, out_dir, task, "audio")


def task_tables(subject: str, out_dir, task: str | None, datatype: str) -> dict[str, Path]:
    """``features`` and ``qc`` tables of a per-recording stage in ``<subject>/<datatype>/``
    (speech: ``audio``; the language stage, which reads the same recordings: ``language``)."""
    task = task or "all"
    folder = Path(out_dir) / subject / datatype
    return {
        "features": folder / f"{subject}_task-{task}_features.tsv",
        "qc": folder / f"{subject}_task-{task}_desc-qc.tsv",
    }


def figure_dir(out_dir, subject: str) -> Path:
    """``out_dir/sub-XX/figures``: the subject's QC figures (``subject`` as given)."""
    return Path(out_dir) / subject / "figures"


def figure_name(recording: Path) -> str:
    """QC figure file name of a recording: ``..._audio.wav`` -> ``..._desc-qc_audio.png``."""
    stem = recording.name.rsplit(".", 1)[0]
    stem = stem[: -len("_audio")] if stem.endswith("_audio") else stem
    return f"{stem}_desc-qc_audio.png"
