"""One subject's fMRI runs -> region time series -> connectivity features + QC row.

Files written under ``out_dir/sub-XX/func/`` (atomically, through :mod:`psymodal.io.tables`)::

    sub-XX[_ses-YY]_task-T[_run-N]_atlas-A_timeseries.tsv   one per run that was extracted
    sub-XX_task-T_atlas-A_desc-<kind>_features.tsv          participant_id + edges (one row)
    sub-XX_task-T_desc-qc.tsv                               participant_id, modality, included,
                                                            reason, metrics (one row)
    sub-XX_task-T_desc-runs_qc.tsv                          one row per run (for inspection)

An excluded subject (no usable run, too much motion, too little data) still gets the features
file (all n/a) and the QC row with the reason.

Several runs are combined by the ``combine_runs`` setting: ``mean`` (default) averages the
Fisher-z connectivity of the included runs; ``concatenate`` stacks their standardised time
series and computes one matrix.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.tables import write_row_tsv, write_tsv
from ..workflow.threads import limit_threads
from .atlas import Atlas
from .confounds import DEFAULT_CONFOUNDS
from .connectome import connectivity_features, feature_names
from .errors import RunTooShortError
from .layout import RunInputs, find_runs, normalize_subject
from .paths import func_outputs, qc_figure_path, timeseries_path
from .qc import RunFigureInputs, qc_settings, run_exclusion_reason
from .settings import fill_settings
from .timeseries import extract_run_timeseries

QC_COLUMNS = [
    "participant_id",
    "modality",
    "included",
    "reason",
    "n_runs",
    "n_runs_included",
    "mean_fd",
    "max_fd",
    "fraction_scrubbed",
    "n_volumes",
    "n_volumes_kept",
    "minutes_kept",
    "tsnr_median",
    "mean_dvars",
    "n_missing_regions",
    "missing_regions",
    "notes",
]


_SINGLE_THREAD = None


def single_thread():
    """Limit BLAS/OpenMP to one thread for this process (see :mod:`psymodal.workflow.threads`).

    :func:`psymodal.workflow.threads.limit_threads` also imports torch to set its thread count,
    which costs ~2 s and makes every later ``gc.collect()`` slower; the MRI stage never uses
    torch, so torch is only configured when something else already imported it.
    """
    global _SINGLE_THREAD
    if "torch" in sys.modules:
        return limit_threads(1)
    if _SINGLE_THREAD is None:  # once per process: threadpoolctl inspects every library
        import os

        from threadpoolctl import threadpool_limits

        os.environ.setdefault("OMP_NUM_THREADS", "1")
        _SINGLE_THREAD = threadpool_limits(limits=1)
    return _SINGLE_THREAD


def _weighted(values, weights) -> float:
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & (w > 0)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() else np.nan


def combine_runs(series: list[pd.DataFrame], kind: str, rule: str = "mean") -> pd.Series:
    """Combine the runs of one subject into one feature vector.

    Parameters
    ----------
    series : list of DataFrame
        Standardised time series of the included runs (same columns).
    kind : str
        Connectivity kind.
    rule : {'mean', 'concatenate'}
        ``mean``: average of the per-run (Fisher-z) connectivity; an edge missing in one run
        is averaged over the others. ``concatenate``: one matrix from the stacked series.
    """
    if rule == "concatenate":
        return connectivity_features(pd.concat(series, ignore_index=True), kind)
    if rule != "mean":
        raise ValueError(f"combine_runs must be 'mean' or 'concatenate', not {rule!r}")
    per_run = pd.concat([connectivity_features(ts, kind) for ts in series], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN edges stay NaN
        return per_run.mean(axis=1, skipna=True)


def summarize_qc(participant_id: str, run_rows: list[dict], included_rows: list[dict]) -> dict:
    """Subject-level QC from per-run QC (volume-weighted means, maxima, sums)."""
    rows = included_rows or run_rows
    weights = [r.get("n_volumes", 0) for r in rows]
    missing = sorted({m for r in rows for m in r.get("missing_regions", [])})
    return {
        "participant_id": participant_id,
        "modality": "fmri",
        "included": True,
        "reason": "",
        "n_runs": len(run_rows),
        "n_runs_included": len(included_rows),
        "mean_fd": _weighted([r.get("mean_fd") for r in rows], weights),
        "max_fd": max((r.get("max_fd", np.nan) for r in rows), default=np.nan),
        "fraction_scrubbed": _weighted([r.get("fraction_scrubbed") for r in rows], weights),
        "n_volumes": int(sum(r.get("n_volumes", 0) for r in rows)),
        "n_volumes_kept": int(sum(r.get("n_volumes_kept", 0) for r in included_rows)),
        "minutes_kept": float(sum(r.get("minutes_kept", 0.0) for r in included_rows)),
        "tsnr_median": _weighted([r.get("tsnr_median") for r in rows], weights),
        "mean_dvars": _weighted([r.get("mean_dvars") for r in rows], weights),
        "n_missing_regions": len(missing),
        "missing_regions": ";".join(missing),
        "notes": "",
    }


def write_subject_outputs(
    participant_id: str,
    features: pd.Series,
    qc_row: dict,
    paths: dict,
    run_rows: list[dict] | None = None,
) -> dict[str, Path]:
    """Write the one-row features and QC tables (and the per-run QC table when given)."""
    write_row_tsv(
        participant_id, features.to_numpy(dtype=float), features.index.tolist(), paths["features"]
    )
    qc = pd.DataFrame([{c: qc_row.get(c, np.nan) for c in QC_COLUMNS}])
    extra = [c for c in qc_row if c not in QC_COLUMNS]
    for c in extra:
        qc[c] = [qc_row[c]]
    write_tsv(qc, paths["qc"])
    written = {"features": paths["features"], "qc": paths["qc"]}
    if run_rows is not None:
        table = pd.DataFrame(run_rows)
        if "missing_regions" in table:
            table["missing_regions"] = table["missing_regions"].map(
                lambda m: ";".join(m) if isinstance(m, list) else m
            )
        write_tsv(table, paths["runs_qc"])
        written["runs_qc"] = paths["runs_qc"]
    return written


def process_subject(
    subject: str,
    bids_dir,
    fmriprep_dir,
    atlas: Atlas,
    out_dir,
    settings: dict | None = None,
) -> dict[str, Path]:
    """Run the fMRI stage for one subject and write its time series, features and QC.

    Parameters
    ----------
    subject : str
        Subject label, with or without ``sub-``.
    bids_dir : path or None
        Raw BIDS dataset (only read for TR sidecars).
    fmriprep_dir : path
        fMRIPrep derivatives.
    atlas : Atlas
        Labels atlas (see :func:`psymodal.mri.atlas.load_atlas`).
    out_dir : path
        Output root; files go to ``out_dir/sub-XX/func/``.
    settings : dict, optional
        The ``mri`` settings (:data:`psymodal.mri.settings.DEFAULTS`).

    Returns
    -------
    dict
        ``features``, ``qc``, ``runs_qc`` and ``timeseries`` (list of paths).

    Notes
    -----
    Exclusion rules (``qc`` settings) per run: mean FD > ``max_mean_fd``, max FD >
    ``max_max_fd``, scrubbed fraction > ``max_fraction_scrubbed``, fewer than
    ``min_volumes`` kept volumes. Per subject: no included run, fewer than ``min_minutes``
    of kept data over the included runs, or more than ``max_missing_fraction`` of the atlas
    regions missing. Excluded subjects get n/a features and ``included=False``.
    """
    threads = single_thread()  # noqa: F841 -- the limit lasts while the controller lives
    settings = fill_settings(settings)
    sub = normalize_subject(subject)
    runs = find_runs(
        bids_dir,
        fmriprep_dir,
        sub,
        task=settings["task"],
        space=settings["space"],
        res=settings.get("res"),
        tr_source=settings["tr_source"],
    )
    where = f"{Path(fmriprep_dir) / f'sub-{sub}'} (space-{settings['space']})"
    return process_runs(sub, runs, extract_run_timeseries, atlas, out_dir, settings, where)


def process_runs(
    subject: str,
    runs: list[RunInputs],
    extract,
    atlas: Atlas,
    out_dir,
    settings: dict,
    where: str = "",
) -> dict[str, Path]:
    """Extract, QC, combine and write the runs of one subject (shared by all BOLD inputs).

    Parameters
    ----------
    subject : str
        Subject label.
    runs : list of RunInputs
        The subject's runs (may be empty: the subject is then excluded).
    extract : callable
        ``extract(run, atlas, settings) -> (timeseries, RunQC)``, e.g.
        :func:`~psymodal.mri.timeseries.extract_run_timeseries`.
    atlas, out_dir, settings
        As in :func:`process_subject` (``settings`` already filled).
    where : str
        Where the runs were looked for (for the warning when there is none).
    """
    rules = qc_settings(settings["qc"])
    sub = normalize_subject(subject)
    participant_id = f"sub-{sub}"
    task, kind = settings["task"], settings["connectivity"]
    paths = func_outputs(sub, task, atlas.name, kind, out_dir)
    edges = feature_names(atlas.region_names, kind)
    empty = pd.Series(np.nan, index=edges, dtype=float)

    if not runs:
        warnings.warn(
            f"{participant_id}: no BOLD run for task-{task} in {where}; the subject is excluded.",
            stacklevel=3,
        )
        return write_excluded_subject(sub, atlas, out_dir, settings, f"no BOLD run for task-{task}")

    several = len(runs) > 1
    run_rows, included_rows, series, ts_paths, fig_paths = [], [], [], [], []
    for run in runs:
        row = {"run": run.label, "bold": run.bold.name, "included": True, "reason": ""}
        try:
            ts, qc = extract(run, atlas, settings)
        except RunTooShortError as err:
            row.update(getattr(err, "qc", {}))
            row.update(included=False, reason=getattr(err, "reason", str(err)))
            run_rows.append(row)
            continue
        row.update(qc.metrics)
        ts_path = timeseries_path(run, atlas.name, out_dir, several)
        write_tsv(ts, ts_path)
        ts_paths.append(ts_path)
        if settings["qc_figure"] and qc.figure is not None:
            fig_paths.append(_write_figure(run, atlas, ts, qc.figure, out_dir, several, settings))
        reason = run_exclusion_reason(qc.metrics, rules)
        if reason:
            row.update(included=False, reason=reason)
        else:
            included_rows.append(row)
            series.append(ts)
        run_rows.append(row)

    qc = summarize_qc(participant_id, run_rows, included_rows)
    qc["notes"] = "; ".join(f"{run.label}: {run.notes}" for run in runs if run.notes)
    reasons = []
    if not included_rows:
        reasons = [f"{r['run']}: {r['reason']}" for r in run_rows]
        reasons = ["no usable run"] + reasons
    else:
        if qc["minutes_kept"] < rules["min_minutes"]:
            reasons.append(
                f"{qc['minutes_kept']:.2f} min of data kept < {rules['min_minutes']} min"
            )
        frac_missing = qc["n_missing_regions"] / max(len(atlas.region_names), 1)
        if (
            rules["max_missing_fraction"] is not None
            and frac_missing > rules["max_missing_fraction"]
        ):
            reasons.append(
                f"{qc['n_missing_regions']} atlas regions missing "
                f"({frac_missing:.0%} > {rules['max_missing_fraction']:.0%})"
            )
    if reasons:
        qc.update(included=False, reason="; ".join(reasons))
        features = empty
    else:
        features = combine_runs(series, kind, settings["combine_runs"])
    out = write_subject_outputs(participant_id, features, qc, paths, run_rows=run_rows)
    out["timeseries"] = ts_paths
    out["figures"] = fig_paths
    return out


def write_excluded_subject(
    subject: str, atlas: Atlas, out_dir, settings: dict, reason: str
) -> dict[str, Path]:
    """Write an excluded subject's files: n/a features (every edge column) and the QC row.

    Used for a subject without a run and, unless ``strict`` is set, for one whose inputs
    cannot be used (:func:`psymodal.mri.sources.process_mri_subject`).
    """
    settings = fill_settings(settings)
    sub = normalize_subject(subject)
    participant_id = f"sub-{sub}"
    kind = settings["connectivity"]
    paths = func_outputs(sub, settings["task"], atlas.name, kind, out_dir)
    empty = pd.Series(np.nan, index=feature_names(atlas.region_names, kind), dtype=float)
    qc = summarize_qc(participant_id, [], [])
    qc.update(included=False, reason=reason)
    out = write_subject_outputs(participant_id, empty, qc, paths, run_rows=[])
    out["timeseries"] = []
    out["figures"] = []
    return out


def _write_figure(
    run: RunInputs,
    atlas: Atlas,
    ts: pd.DataFrame,
    figure: RunFigureInputs,
    out_dir,
    several: bool,
    settings: dict,
) -> Path:
    """Write the QC figure of one run (:func:`psymodal.mri.figures.qc_figure`)."""
    from .figures import qc_figure

    path = qc_figure_path(run, atlas.name, out_dir, several)
    # the threshold the confounds settings scrub with (given keys over the schema's defaults)
    fd_threshold = {**DEFAULT_CONFOUNDS, **(settings["confounds"] or {})}["fd_threshold"]
    return qc_figure(
        path,
        figure.mean_img,
        figure.labels_img,
        ts,
        title=f"{run.label}  atlas-{atlas.name}",
        fd=figure.fd,
        kept=figure.kept,
        fd_threshold=fd_threshold,
    )
