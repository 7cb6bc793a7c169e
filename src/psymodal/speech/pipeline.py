"""Per-subject speech stage: find recordings, extract features, write the features and QC rows.

Aggregation rule: with several usable recordings, each feature is the unweighted mean over the
recordings where it is defined (NaN-aware), so a long and a short reading count equally. QC
durations are sums over usable recordings; other QC metrics are means.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.tables import write_tsv
from ..settings import resolve_section
from .audio import read_audio
from .features import analyse_recording, feature_names, qc_names
from .paths import figure_name

__all__ = ["find_recordings", "process_subject", "AUDIO_EXTENSIONS"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")

_SUMMED_QC = {
    "pause_free_recordings",
    "duration_s",
    "speech_duration_s",
    "voiced_duration_s",
    "speech_segment_count",
    "syllable_count",
}


def _label(subject: str) -> str:
    return subject if subject.startswith("sub-") else f"sub-{subject}"


def find_recordings(
    bids_dir: str | os.PathLike, subject: str, task: str | None = None
) -> list[Path]:
    """Audio recordings of one subject in a BIDS-like dataset.

    Matches ``sub-<label>/[ses-<s>/]audio/sub-<label>[_ses-<s>]_task-<task>[_<key>-<value>...]
    _audio.(wav|flac|ogg)`` (psymodal's convention; BIDS has no audio datatype yet).

    Parameters
    ----------
    bids_dir : str or os.PathLike
        Dataset root.
    subject : str
        ``sub-01`` or ``01``.
    task : str, optional
        Only this task (all tasks when None).

    Returns
    -------
    list of Path
        Sorted by session, task, run number (numerically), then name; empty when none match.
    """
    sub = _label(subject)
    root = Path(bids_dir) / sub
    task_re = re.escape(task) if task else r"[a-zA-Z0-9]+"
    pattern = re.compile(
        rf"^{re.escape(sub)}(?:_ses-(?P<ses>[a-zA-Z0-9]+))?_task-(?P<task>{task_re})"
        r"(?:_[a-zA-Z]+-[a-zA-Z0-9]+)*_audio\.(?:wav|flac|ogg)$"
    )
    dirs = [root / "audio"] + sorted(p / "audio" for p in root.glob("ses-*"))
    found = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = pattern.match(path.name)
            # a dangling link or a FIFO is kept: reading it gives an accurate QC reason
            if match and not path.is_dir():
                run = re.search(r"_run-(\d+)", path.name)
                key = (match["ses"] or "", match["task"], int(run[1]) if run else -1, path.name)
                found.append((key, path))
    return [path for _, path in sorted(found)]


def recordings_searched(subject: str, task: str | None = None) -> str:
    """What :func:`find_recordings` looks for, in words (for the QC reason when none is found)."""
    sub = _label(subject)
    what = f"task-{task}" if task else "any task"
    return (
        f"{what} (searched {sub}/[ses-*/]audio/{sub}[_ses-*]_task-{task or '*'}[_*]"
        "_audio.{wav,flac,ogg})"
    )


def shown_path(path: Path, dataset_dir: str | os.PathLike | None) -> str:
    """How QC reasons name a recording: its path inside the dataset (never absolute), else
    its file name."""
    if dataset_dir is not None:
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(dataset_dir)).as_posix()
        except ValueError:
            pass
    return Path(path).name


def _clipping(audio, cfg: dict) -> str:
    """What to say about a recording's clipping, or '' when it is under the threshold."""
    limit = cfg["qc"]["max_clipping_fraction"]
    if limit is None or not audio.clipping_fraction > limit:
        return ""
    return f"clipped: {audio.clipping_fraction:.1%} of samples at full scale (> {limit:.1%})"


def _recording_row(
    path: Path,
    cfg: dict,
    figure_dir: Path | None,
    shown: str | None = None,
    strict: bool = False,
) -> tuple[dict | None, str, str]:
    """Features of one recording, or None and the reason it is unusable; and a QC flag.

    With ``figure_dir``, the recording's QC figure is written there (also for a recording
    with too little speech: the figure shows why). ``shown`` names the recording in
    messages (its file name by default). With ``strict``, a recording that cannot be read or
    analysed raises instead of becoming a reason.
    """
    shown = shown or path.name
    try:
        audio = read_audio(path, cfg["sample_rate"], cfg["channels"], shown=shown, upsample=False)
        analysis = analyse_recording(
            audio.y, audio.sr, cfg, native_sr=audio.native_sr, native_y=audio.native_y
        )
    except Exception as err:  # one bad file must not stop the subject: recorded in QC
        if strict:
            raise
        message = str(err)
        for where in {str(path), os.path.abspath(path)}:  # never an absolute path in QC
            message = message.replace(where, shown)
        # read_audio's messages already name the file; others get the name prepended.
        return None, message if shown in message else f"{shown}: {message}", ""
    feats = analysis.features
    feats["qc_clipping_fraction"] = audio.clipping_fraction
    feats["qc_native_sample_rate"] = float(audio.native_sr)
    feats["qc_n_channels"] = float(audio.n_channels)
    feats["qc_channels_used"] = audio.channels_used
    clipped = _clipping(audio, cfg)
    if figure_dir is not None and cfg["qc_figure"]:
        from .figures import recording_qc_figure

        recording_qc_figure(
            Path(figure_dir) / figure_name(path), audio.y, audio.sr, analysis, path.name
        )
    min_speech = float(cfg["qc"]["min_speech_s"])
    if feats["qc_speech_duration_s"] < min_speech:
        return (
            None,
            (
                f"{shown}: too little speech ({feats['qc_speech_duration_s']:.2f} s < "
                f"{min_speech:g} s; silent or near-silent recording)"
            ),
            "",
        )
    if clipped and cfg["qc"]["clipping_action"] == "exclude":
        return None, f"{shown}: {clipped}", ""
    return feats, "", f"{shown}: {clipped}" if clipped else ""


def process_subject(
    subject: str,
    recordings: list[Path],
    out_features: Path,
    out_qc: Path,
    settings: dict | None,
    figure_dir: Path | None = None,
    dataset_dir: str | os.PathLike | None = None,
    searched: str | None = None,
    strict: bool = False,
) -> None:
    """Extract one subject's speech features and write its features and QC rows.

    Never raises for bad audio (unless ``strict``): unusable recordings are listed in the QC
    row; a subject without a usable recording gets NaN (``n/a``) features and
    ``included=False``.

    Parameters
    ----------
    subject : str
        ``sub-01`` or ``01``.
    recordings : list of Path
        The subject's audio files (e.g. from :func:`find_recordings`).
    out_features, out_qc : Path
        Output TSVs (written atomically through :func:`psymodal.io.tables.write_tsv`).
    settings : dict or None
        The ``speech`` section of the configuration.
    figure_dir : Path, optional
        Folder for one QC figure per recording (:func:`psymodal.speech.paths.figure_name`);
        none when None or when ``settings["qc_figure"]`` is False.
    dataset_dir : path, optional
        The dataset root: QC reasons name recordings by their path inside it (never an
        absolute path); by their file name without it.
    searched : str, optional
        What was looked for (:func:`recordings_searched`), added to the reason of a subject
        without recordings.
    strict : bool
        The top-level ``strict`` setting: a recording that cannot be read or analysed raises
        instead of becoming a QC reason (a recording with too little speech or, with
        ``qc.clipping_action: exclude``, clipping stays a QC exclusion).

    Notes
    -----
    Features TSV: ``participant_id`` then :func:`psymodal.speech.feature_names` columns.
    QC TSV: ``participant_id, modality, included, reason, duration_s, n_recordings,
    n_recordings_used``, the other QC metrics, ``native_sample_rate``, ``n_channels`` (the
    most in a used recording), ``channels_used`` (``mono`` or the ``channels`` policy applied)
    and ``notes`` (problems with individual recordings of an included subject, and clipping
    flags).
    """
    # frame sizes are set per recording, for the rate it is analysed at (a file below
    # speech.sample_rate keeps its own)
    cfg = resolve_section("speech", settings)
    sub = _label(subject)
    names = feature_names(cfg)
    rows, problems, flags = [], [], []
    for path in recordings:
        shown = shown_path(Path(path), dataset_dir)
        row, problem, flag = _recording_row(Path(path), cfg, figure_dir, shown, strict)
        if flag:
            flags.append(flag)
        if row is None:
            problems.append(problem)
        else:
            rows.append(row)

    qc_keys = [f"qc_{k}" for k in qc_names()] + ["qc_native_sample_rate"]
    if rows:
        table = pd.DataFrame(rows)
        feats = table[names].mean(axis=0, skipna=True)
        qc_vals = {
            k[3:]: float(table[k].sum() if k[3:] in _SUMMED_QC else table[k].mean())
            for k in qc_keys
        }
        qc_vals["native_sample_rate"] = float(table["qc_native_sample_rate"].min())
        qc_vals["n_channels"] = int(table["qc_n_channels"].max())
        qc_vals["channels_used"] = ";".join(sorted(set(table["qc_channels_used"])))
        included, reason = True, ""
    else:
        feats = pd.Series(np.nan, index=names)
        qc_vals = {k[3:]: np.nan for k in qc_keys}
        qc_vals.update(n_channels=np.nan, channels_used="")
        included = False
        reason = (
            "no recordings found" + (f" for {searched}" if searched else "")
            if not recordings
            else "no usable recording: " + "; ".join(problems)
        )
    features_row = pd.DataFrame([{"participant_id": sub, **feats.to_dict()}])
    features_row = features_row[["participant_id", *names]]
    qc_row = {
        "participant_id": sub,
        "modality": "speech",
        "included": included,
        "reason": reason,
        "duration_s": qc_vals.pop("duration_s"),
        "n_recordings": len(recordings),
        "n_recordings_used": len(rows),
        **qc_vals,
        "notes": "; ".join((problems if included else []) + flags),
    }
    write_tsv(features_row, out_features)
    write_tsv(pd.DataFrame([qc_row]), out_qc)
