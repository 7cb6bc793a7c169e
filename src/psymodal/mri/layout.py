"""Finding fMRIPrep runs and their companions (confounds, mask, repetition time).

fMRIPrep derivatives follow BIDS-Derivatives naming::

    sub-XX[/ses-YY]/func/sub-XX[_ses-YY]_task-T[_acq-A][_run-N]_space-S[_res-R]_desc-preproc_bold.nii.gz
    sub-XX[/ses-YY]/func/sub-XX[_ses-YY]_task-T[_acq-A][_run-N]_desc-confounds_timeseries.tsv
    sub-XX[/ses-YY]/func/sub-XX[_ses-YY]_task-T[_acq-A][_run-N]_space-S[_res-R]_desc-brain_mask.nii.gz

The repetition time comes from the BOLD JSON sidecar (derivative first, then the raw BIDS
sidecar with BIDS inheritance), else from the NIfTI header with a warning; when both give one
and they differ, ``mri.tr_source`` says which to trust. Either case is noted in the QC table.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib

from psymodal.settings import defaults

from .errors import MRIInputError
from .paths import normalize_subject

#: Which TR to trust when the JSON sidecar and the NIfTI header differ (``mri.tr_source``).
TR_SOURCE = defaults("mri")["tr_source"]

_ENTITY = re.compile(r"([a-zA-Z0-9]+)-([a-zA-Z0-9.+]+)")
# entities that only describe the output space; confounds files do not carry them
_SPACE_ENTITIES = ("space", "res", "den", "cohort")


def parse_entities(path: str | Path) -> tuple[dict[str, str], str]:
    """Split a BIDS file name into ordered key-value entities and the suffix.

    Returns
    -------
    entities : dict
        ``{'sub': '01', 'task': 'rest', ...}`` in file-name order.
    suffix : str
        The last ``_``-separated part without extensions (``'bold'``, ``'mask'``...).
    """
    name = Path(path).name.split(".")[0]
    parts = name.split("_")
    entities = {}
    for part in parts[:-1]:
        m = _ENTITY.fullmatch(part)
        if m:
            entities[m.group(1)] = m.group(2)
    return entities, parts[-1]


def build_name(entities: dict[str, str], suffix: str, extension: str) -> str:
    """Inverse of :func:`parse_entities`: ``sub-01_task-rest`` + ``_suffix.ext``."""
    stem = "_".join(f"{k}-{v}" for k, v in entities.items())
    return f"{stem}_{suffix}{extension}"


@dataclass
class RunInputs:
    """Files and metadata of one preprocessed BOLD run.

    Parameters
    ----------
    subject : str
        Subject label without ``sub-``.
    session : str or None
        Session label without ``ses-``.
    task : str
        Task label.
    run : str or None
        Run label (``'1'``, ``'01'``...) or None when the file has no run entity.
    bold : Path
        Preprocessed 4D BOLD image.
    confounds : Path or None
        fMRIPrep confounds TSV (``desc-confounds_timeseries.tsv``).
    mask : Path or None
        Brain mask on the BOLD grid.
    tr : float
        Repetition time in seconds.
    entities : dict
        All BIDS entities of the BOLD file (``acq``, ``res``... included).
    notes : str
        What the QC table should say about the run's inputs (e.g. where the TR came from
        when the sidecar lacks it or disagrees with the header); empty when nothing.
    """

    subject: str
    session: str | None
    task: str
    run: str | None
    bold: Path
    confounds: Path | None
    mask: Path | None
    tr: float
    entities: dict = field(default_factory=dict)
    notes: str = ""

    @property
    def label(self) -> str:
        """Short identifier of the run for messages and file names (``sub-01_task-rest_run-1``)."""
        keep = {k: v for k, v in self.entities.items() if k not in _SPACE_ENTITIES + ("desc",)}
        return "_".join(f"{k}-{v}" for k, v in keep.items())


def _read_tr_json(path: Path) -> float | None:
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MRIInputError(
            f"{path}: cannot read the JSON sidecar ({err}). Fix or remove the file."
        ) from err
    tr = meta.get("RepetitionTime")
    if tr is None:
        return None
    try:
        tr = float(tr)
    except (TypeError, ValueError) as err:
        raise MRIInputError(
            f"{path}: RepetitionTime is {tr!r}, not a number of seconds. Correct the sidecar."
        ) from err
    if not tr > 0:
        raise MRIInputError(f"{path}: RepetitionTime is {tr}; it must be positive (seconds).")
    if tr > 100:
        # BIDS requires seconds; a value like 2000 is almost surely milliseconds
        raise MRIInputError(
            f"{path}: RepetitionTime is {tr}, which looks like milliseconds. "
            "BIDS requires seconds; correct the sidecar."
        )
    return tr


def _sidecar_candidates(bold: Path, bids_dir: Path | None, entities: dict) -> list[Path]:
    """JSON files that may hold the TR, most specific first (BIDS inheritance principle)."""
    cands = [bold.with_name(bold.name.replace(".nii.gz", ".json").replace(".nii", ".json"))]
    if bids_dir is not None:
        raw = {k: v for k, v in entities.items() if k not in _SPACE_ENTITIES + ("desc",)}
        sub = raw.get("sub")
        ses = raw.get("ses")
        func = Path(bids_dir) / f"sub-{sub}"
        if ses:
            func = func / f"ses-{ses}"
        func = func / "func"
        cands.append(func / build_name(raw, "bold", ".json"))
        # inherited sidecars: drop sub/ses/run progressively, as BIDS allows at higher levels
        no_run = {k: v for k, v in raw.items() if k != "run"}
        cands.append(func / build_name(no_run, "bold", ".json"))
        top = {k: v for k, v in no_run.items() if k not in ("sub", "ses")}
        cands.append(Path(bids_dir) / build_name(top, "bold", ".json"))
    return cands


def header_tr(bold: Path) -> float | None:
    """Repetition time (s) in the NIfTI header (pixdim[4] in its time unit); None if absent.

    Raises
    ------
    Exception
        Whatever nibabel raises for an unreadable file.
    """
    header = nib.load(bold).header
    zooms = header.get_zooms()
    tr = float(zooms[3]) if len(zooms) > 3 else 0.0
    unit = header.get_xyzt_units()[1] if hasattr(header, "get_xyzt_units") else "sec"
    if unit == "msec":
        tr /= 1000.0
    elif unit == "usec":
        tr /= 1e6
    return tr if tr > 0 else None


def sidecar_tr(bold: Path, bids_dir: Path | None = None) -> tuple[float | None, Path | None]:
    """The RepetitionTime of the most specific JSON sidecar that has one, and that sidecar."""
    entities, _ = parse_entities(bold)
    for cand in _sidecar_candidates(Path(bold), bids_dir, entities):
        if cand.is_file():
            tr = _read_tr_json(cand)
            if tr is not None:
                return tr, cand
    return None, None


def _same_tr(a: float, b: float) -> bool:
    # the header stores float32 seconds: 0.72 reads back as 0.7200000286
    return abs(a - b) <= max(1e-3 * max(a, b), 1e-4)


def resolve_tr(
    bold: Path,
    bids_dir: Path | None = None,
    subject: str | None = None,
    source: str = TR_SOURCE,
) -> tuple[float, str]:
    """Repetition time (s) of ``bold`` and a QC note when its sources are missing or disagree.

    Parameters
    ----------
    bold : Path
    bids_dir : Path, optional
        Raw BIDS dataset, for the raw (and inherited) sidecars.
    subject : str, optional
        For messages.
    source : {'sidecar', 'header'}
        Which to trust when both give a TR and they differ (``mri.tr_source``); the other is
        used when the trusted one gives none.

    Returns
    -------
    tr : float
    note : str
        Empty when a sidecar gives the TR and the header agrees (or has none); else what
        was used and why, for the QC table's ``notes``.

    Raises
    ------
    MRIInputError
        When neither a sidecar nor the header gives a usable TR, or a sidecar is invalid.
    """
    who = f"sub-{subject}: " if subject else ""
    from_sidecar, sidecar = sidecar_tr(Path(bold), bids_dir)
    try:
        from_header = header_tr(bold)
    except Exception as err:  # nibabel raises several types for broken files
        if from_sidecar is not None:
            return from_sidecar, ""  # the image itself is checked (and reported) later
        raise MRIInputError(
            f"{who}{bold}: cannot read the NIfTI header ({err}). "
            "The file is damaged; re-run fMRIPrep or restore the file."
        ) from err
    if from_sidecar is None and from_header is None:
        raise MRIInputError(
            f"{who}{bold}: no RepetitionTime. Neither a JSON sidecar (derivative or raw BIDS) "
            "nor the NIfTI header (pixdim[4]) gives the TR. Add 'RepetitionTime' (seconds) "
            "to the BOLD JSON sidecar."
        )
    if from_sidecar is None:
        warnings.warn(
            f"{who}{bold}: no RepetitionTime in any JSON sidecar; using the NIfTI header value "
            f"{from_header:g} s. Add the sidecar to be sure.",
            stacklevel=2,
        )
        return from_header, f"TR {from_header:g} s from the NIfTI header (no JSON sidecar has one)"
    if from_header is None or _same_tr(from_sidecar, from_header):
        return from_sidecar, ""
    tr = from_header if source == "header" else from_sidecar
    note = (
        f"TR differs: sidecar {sidecar.name} {from_sidecar:g} s, NIfTI header "
        f"{from_header:g} s; {tr:g} s used (mri.tr_source: {source})"
    )
    warnings.warn(f"{who}{bold}: {note}", stacklevel=2)
    return tr, note


def find_tr(bold: Path, bids_dir: Path | None = None, subject: str | None = None) -> float:
    """Repetition time (s) of ``bold``: JSON sidecar first, NIfTI header as a fallback.

    See :func:`resolve_tr`, which also says when the sources are missing or disagree.

    Raises
    ------
    MRIInputError
        When neither a sidecar nor the header gives a usable TR.
    """
    return resolve_tr(bold, bids_dir, subject)[0]


def _companion(bold: Path, entities: dict, suffix: str, drop_space: bool) -> Path | None:
    ents = dict(entities)
    ents.pop("desc", None)
    if drop_space:
        for key in _SPACE_ENTITIES:
            ents.pop(key, None)
    desc, suffix_name = suffix.split("|")
    ents["desc"] = desc
    candidates = [bold.parent / build_name(ents, s, e) for s, e in _expand(suffix_name)]
    for cand in candidates:
        # a dangling link or a FIFO is the run's file too: reading it gives a clear error
        if os.path.lexists(cand):
            return cand
    return None


def _expand(suffix_name: str) -> list[tuple[str, str]]:
    if suffix_name == "confounds":
        # fMRIPrep < 20.2 called the file *_desc-confounds_regressors.tsv
        return [("timeseries", ".tsv"), ("regressors", ".tsv")]
    return [(suffix_name, ".nii.gz"), (suffix_name, ".nii")]


def find_runs(
    bids_dir: str | Path | None,
    fmriprep_dir: str | Path,
    subject: str,
    task: str = "rest",
    space: str = "MNI152NLin2009cAsym",
    res: str | None = None,
    tr_source: str = TR_SOURCE,
) -> list[RunInputs]:
    """List the preprocessed BOLD runs of one subject in fMRIPrep derivatives.

    Parameters
    ----------
    bids_dir : path or None
        Raw BIDS dataset, used only to find the TR when the derivative has no sidecar.
    fmriprep_dir : path
        fMRIPrep output folder (the one holding ``sub-XX/``).
    subject : str
        Subject label, with or without ``sub-``.
    task, space : str
        Task and output space to select.
    res : str, optional
        Resolution entity (``res-2`` -> ``'2'``) to select when fMRIPrep wrote several.
    tr_source : {'sidecar', 'header'}
        Which TR to trust when the sidecar and the header differ (:func:`resolve_tr`).

    Returns
    -------
    list of RunInputs
        Sorted by session, run and the remaining entities; empty when the subject has no run.

    Raises
    ------
    MRIInputError
        When a run has no usable repetition time, or several resolutions of one run exist and
        ``res`` does not choose.
    """
    subject = normalize_subject(subject)
    fmriprep_dir = Path(fmriprep_dir)
    bids_dir = Path(bids_dir) if bids_dir else None
    root = fmriprep_dir / f"sub-{subject}"
    pattern = f"sub-{subject}_*task-{task}_*space-{space}_*desc-preproc_bold.nii*"
    boldfiles = sorted(set(root.glob(f"func/{pattern}")) | set(root.glob(f"ses-*/func/{pattern}")))
    runs = []
    for bold in boldfiles:
        entities, suffix = parse_entities(bold)
        # the glob may match longer labels (task-restful); keep exact matches only
        if (
            suffix != "bold"
            or entities.get("sub") != subject
            or entities.get("task") != task
            or entities.get("space") != space
            or entities.get("desc") != "preproc"
            or (res is not None and entities.get("res") != str(res))
        ):
            continue
        tr, note = resolve_tr(bold, bids_dir, subject, tr_source)
        runs.append(
            RunInputs(
                subject=subject,
                session=entities.get("ses"),
                task=task,
                run=entities.get("run"),
                bold=bold,
                confounds=_companion(bold, entities, "confounds|confounds", drop_space=True),
                mask=_companion(bold, entities, "brain|mask", drop_space=False),
                tr=tr,
                entities=entities,
                notes=note,
            )
        )

    seen: dict[str, Path] = {}
    for r in runs:
        ident = "_".join(f"{k}-{v}" for k, v in r.entities.items() if k not in ("res", "den"))
        if ident in seen:
            raise MRIInputError(
                f"sub-{subject}: several versions of one run in space-{space}: "
                f"{seen[ident].name} and {r.bold.name}. Choose one with the 'res' setting "
                "(e.g. res: 2)."
            )
        seen[ident] = r.bold

    def key(r: RunInputs):
        run_num = int(r.run) if r.run and r.run.isdigit() else -1
        return (r.session or "", run_num, r.run or "", r.bold.name)

    return sorted(runs, key=key)
