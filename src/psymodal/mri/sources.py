"""One entry point for the MRI stage, whatever the input: fMRIPrep, raw BIDS or ready time series.

The workflow and the CLI call :func:`process_mri_subject`; it picks the stage function for the
configured input and returns the per-subject tables written, per modality (``mri`` for
connectivity, ``anat`` for regional grey-matter volumes when fMRIPrep anatomy is used).
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from psymodal.settings import defaults

from .atlas import Atlas
from .errors import MRIInputError
from .paths import normalize_subject
from .settings import fill_settings

INPUTS = ("fmriprep", "raw", "timeseries")

#: The top-level ``strict`` setting's default: a subject's unusable input excludes it.
STRICT = defaults()["strict"]


@dataclass(frozen=True)
class MriSource:
    """Where a study's MRI data are and in which form.

    Parameters
    ----------
    kind : str
        ``fmriprep`` (preprocessed derivatives), ``raw`` (BIDS BOLD, nilearn-only cleaning) or
        ``timeseries`` (ready region time series, e.g. C-PAC ``.1D`` or DPABI ``.mat``).
    bids_dir, fmriprep_dir : Path
    timeseries_dir : Path, optional
        Folder of the ready time series.
    timeseries_pattern : str
        A subject's file(s) inside ``timeseries_dir``: placeholders ``{label}`` (subject
        label without ``sub-``), ``{participant_id}``, ``{atlas}`` and the participants
        table's columns, and globs (:mod:`psymodal.mri.timeseries_layout`).
    participants : Path, optional
        The participants.tsv whose columns fill the pattern's placeholders.
    """

    kind: str = "fmriprep"
    bids_dir: Path = Path(".")
    fmriprep_dir: Path | None = None
    timeseries_dir: Path | None = None
    timeseries_pattern: str = defaults("dataset")["timeseries_pattern"]
    participants: Path | None = None

    def __post_init__(self):
        if self.kind not in INPUTS:
            raise ValueError(f"Unknown MRI input {self.kind!r}; expected one of {INPUTS}.")

    def timeseries_files(self, participant_id: str, atlas: str | None = None) -> list[Path]:
        """The subject's time series files (one per run), sorted.

        Raises
        ------
        MRIInputError
            When none matches, naming the path (or glob) looked for.
        """
        from .timeseries_layout import find_timeseries_files, searched, subject_fields

        if self.timeseries_dir is None:
            raise ValueError("MRI input 'timeseries' needs dataset.timeseries_dir in the config.")
        row = _text_rows(self.participants).get(participant_id) if self.participants else None
        fields = subject_fields(participant_id, row, atlas)
        files = find_timeseries_files(self.timeseries_dir, self.timeseries_pattern, fields)
        if not files:
            looked_for = searched(self.timeseries_dir, self.timeseries_pattern, fields)
            raise MRIInputError(f"no time series file: looked for {looked_for}.")
        return files


@functools.lru_cache(maxsize=4)
def _text_rows(path: Path) -> dict[str, dict]:
    """participant_id -> row of a participants table, as text (file names are matched on it)."""
    from psymodal.workflow.participants import read_table

    _, rows = read_table(path)
    return {row["participant_id"]: row for row in rows if row.get("participant_id")}


def subject_timeseries_settings(settings: dict, participant: pd.Series | None) -> dict:
    """Per-subject ``timeseries`` settings: the TR may depend on the subject's site."""
    settings = fill_settings(settings)
    ts = dict(settings["timeseries"])
    if ts["tr"] is None and participant is not None and "site" in participant:
        ts["tr"] = ts["tr_by_site"].get(str(participant["site"]))
    return {**settings, "timeseries": ts}


def input_error_reason(err: BaseException, roots=()) -> str:
    """The QC reason for an input that stopped a subject: the error's own message (it names
    the file, what is wrong and what to do), with the error type when it is not an
    :class:`~psymodal.mri.errors.MRIInputError`.

    Files under one of the data ``roots`` are named by their path inside it: QC tables and the
    report are shared, the folders of the lab's machine are not.
    """
    text = " ".join(str(err).split()) or type(err).__name__
    forms = {str(p) for root in roots if root for p in (Path(root), Path(os.path.abspath(root)))}
    forms.discard(".")  # a root given as the working folder: only its absolute form is cut
    for form in sorted(forms, key=len, reverse=True):  # the deepest root first
        text = text.replace(form.rstrip("/") + "/", "")
    return text if isinstance(err, MRIInputError) else f"{type(err).__name__}: {text}"


def _guarded(participant_id: str, modality: str, work, exclude, strict: bool, roots=()):
    """``work()``; unless ``strict``, an error becomes the subject's exclusion (``exclude``)."""
    try:
        return work()
    except MemoryError:
        raise  # not the subject's data: the scheduler may retry the job with more memory
    except Exception as err:
        if strict:
            raise
        print(f"{participant_id}: {modality} excluded: {input_error_reason(err)}", file=sys.stderr)
        return exclude(input_error_reason(err, roots))


def process_mri_subject(
    subject: str,
    source: MriSource,
    atlas: Atlas | None,
    out_dir,
    settings: dict,
    participant: pd.Series | None = None,
    strict: bool = STRICT,
) -> dict[str, dict[str, Path]]:
    """Run the MRI stage for one subject and return ``{modality: {"features", "qc"}}``.

    Parameters
    ----------
    subject : str
        ``sub-<label>``.
    source : MriSource
    atlas : Atlas or None
        Needed for image inputs; ready time series carry their own regions.
    out_dir : path
        The stage folder (a BIDS-Derivatives dataset).
    settings : dict
        The config's ``mri`` section.
    participant : pandas.Series, optional
        The subject's participants.tsv row: ``site`` selects a per-site TR for time series and
        ``mean_fd`` (when present) enters QC for inputs that carry no confounds.
    strict : bool
        The top-level ``strict`` setting. False (default): an input that cannot be used
        (missing, truncated, 3D, NaN voxels, confounds of the wrong length...) excludes the
        subject from that modality, with the error's message as the QC reason, and the other
        subjects go on. True: the error is raised (fail fast).
    """
    settings = fill_settings(settings)
    pid = f"sub-{normalize_subject(subject)}"
    roots = (source.fmriprep_dir, source.timeseries_dir, source.bids_dir)
    if source.kind == "timeseries":
        from .ready_timeseries import process_timeseries_subject, write_excluded_timeseries

        qc_values = {}
        if participant is not None and pd.notna(participant.get("mean_fd", None)):
            qc_values["mean_fd"] = float(participant["mean_fd"])
        ts_settings = subject_timeseries_settings(settings, participant)
        atlas_name = ts_settings["timeseries"]["atlas_name"]
        paths = _guarded(
            pid,
            "mri",
            lambda: process_timeseries_subject(
                subject,
                source.timeseries_files(pid, atlas_name),
                out_dir,
                ts_settings,
                qc_values=qc_values or None,
            ),
            lambda reason: write_excluded_timeseries(subject, out_dir, ts_settings, reason),
            strict,
            roots,
        )
        return {"mri": paths}

    from .subject_runs import write_excluded_subject

    def excluded_mri(reason):
        return write_excluded_subject(subject, atlas, out_dir, settings, reason)

    if source.kind == "raw":
        from .raw import process_raw_subject

        def raw():
            return process_raw_subject(subject, source.bids_dir, atlas, out_dir, settings)

        return {"mri": _guarded(pid, "mri", raw, excluded_mri, strict, roots)}

    from .anat import process_anat_subject, write_excluded_anat
    from .subject_runs import process_subject

    def fmri():
        return process_subject(
            subject, source.bids_dir, source.fmriprep_dir, atlas, out_dir, settings
        )

    written = {"mri": _guarded(pid, "mri", fmri, excluded_mri, strict, roots)}
    if settings["anat"]["enabled"]:
        written["anat"] = _guarded(
            pid,
            "anat",
            lambda: process_anat_subject(subject, source.fmriprep_dir, atlas, out_dir, settings),
            lambda reason: write_excluded_anat(subject, atlas, out_dir, settings, reason),
            strict,
            roots,
        )
    return written


def stage_modalities(settings: dict, kind: str) -> list[str]:
    """The feature tables the MRI stage writes for this input kind."""
    if kind == "fmriprep" and fill_settings(settings)["anat"]["enabled"]:
        return ["mri", "anat"]
    return ["mri"]
