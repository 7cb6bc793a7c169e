"""Ready-made parcellated time series (C-PAC/ABIDE, XCP-D, DPABI...) -> features + QC.

Many shared datasets distribute region time series rather than images. This module reads them
into the same time x region table that :func:`psymodal.mri.timeseries.extract_run_timeseries`
returns, and writes the same per-subject features and QC files as
:func:`psymodal.mri.subject_runs.process_subject`.

Supported formats (``timeseries.format`` setting, or ``auto`` from the file name):

``1D``  C-PAC / ABIDE Preprocessed ``*.1D``: whitespace-separated, optional ``#`` header line.
``tsv`` XCP-D ``*_timeseries.tsv`` (header of region names, ``n/a`` for missing).
``csv`` comma-separated, header detected (a first row that is not numeric).
``mat`` DPABI/DPARSF MATLAB file with a time x region variable (``ROISignals`` by default).
``npy`` NumPy array, time x region.

A column that is constant (DPABI writes zeros for regions outside the field of view) or not
finite is treated as a missing region: n/a column, n/a edges, listed in the QC table.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.files import file_problem
from psymodal.settings import defaults, resolve_section

from .connectome import edge_names
from .covariance import zscore_sample
from .errors import MRIInputError
from .layout import normalize_subject
from .paths import func_outputs, ready_timeseries_path
from .qc import qc_settings, run_exclusion_reason
from .settings import fill_settings
from .subject_runs import (
    combine_runs,
    single_thread,
    summarize_qc,
    write_subject_outputs,
)

# The 116 regions of the AAL atlas (Tzourio-Mazoyer et al. 2002) in the order of its labels
# image (values 2001 ... 9170), which is the column order of DPABI's and C-PAC's AAL outputs.
AAL116 = """
Precentral_L Precentral_R Frontal_Sup_L Frontal_Sup_R Frontal_Sup_Orb_L Frontal_Sup_Orb_R
Frontal_Mid_L Frontal_Mid_R Frontal_Mid_Orb_L Frontal_Mid_Orb_R Frontal_Inf_Oper_L
Frontal_Inf_Oper_R Frontal_Inf_Tri_L Frontal_Inf_Tri_R Frontal_Inf_Orb_L Frontal_Inf_Orb_R
Rolandic_Oper_L Rolandic_Oper_R Supp_Motor_Area_L Supp_Motor_Area_R Olfactory_L Olfactory_R
Frontal_Sup_Medial_L Frontal_Sup_Medial_R Frontal_Med_Orb_L Frontal_Med_Orb_R Rectus_L Rectus_R
Insula_L Insula_R Cingulum_Ant_L Cingulum_Ant_R Cingulum_Mid_L Cingulum_Mid_R Cingulum_Post_L
Cingulum_Post_R Hippocampus_L Hippocampus_R ParaHippocampal_L ParaHippocampal_R Amygdala_L
Amygdala_R Calcarine_L Calcarine_R Cuneus_L Cuneus_R Lingual_L Lingual_R Occipital_Sup_L
Occipital_Sup_R Occipital_Mid_L Occipital_Mid_R Occipital_Inf_L Occipital_Inf_R Fusiform_L
Fusiform_R Postcentral_L Postcentral_R Parietal_Sup_L Parietal_Sup_R Parietal_Inf_L
Parietal_Inf_R SupraMarginal_L SupraMarginal_R Angular_L Angular_R Precuneus_L Precuneus_R
Paracentral_Lobule_L Paracentral_Lobule_R Caudate_L Caudate_R Putamen_L Putamen_R Pallidum_L
Pallidum_R Thalamus_L Thalamus_R Heschl_L Heschl_R Temporal_Sup_L Temporal_Sup_R
Temporal_Pole_Sup_L Temporal_Pole_Sup_R Temporal_Mid_L Temporal_Mid_R Temporal_Pole_Mid_L
Temporal_Pole_Mid_R Temporal_Inf_L Temporal_Inf_R Cerebelum_Crus1_L Cerebelum_Crus1_R
Cerebelum_Crus2_L Cerebelum_Crus2_R Cerebelum_3_L Cerebelum_3_R Cerebelum_4_5_L Cerebelum_4_5_R
Cerebelum_6_L Cerebelum_6_R Cerebelum_7b_L Cerebelum_7b_R Cerebelum_8_L Cerebelum_8_R
Cerebelum_9_L Cerebelum_9_R Cerebelum_10_L Cerebelum_10_R Vermis_1_2 Vermis_3 Vermis_4_5
Vermis_6 Vermis_7 Vermis_8 Vermis_9 Vermis_10
""".split()

NAMED_REGION_SETS = {"aal116": AAL116}

# Repetition times (s) of the ABIDE I sites in /work/shared/data/abide100 (ABIDE I site
# protocols); other sites need ``timeseries.tr`` in the settings.
ABIDE_TR = {"PITT": 1.5, "OLIN": 1.5, "OHSU": 2.5}

#: The defaults of ``mri.timeseries`` (from the settings schema, the one place they are written).
DEFAULT_TIMESERIES = defaults("mri.timeseries")


def timeseries_settings(settings: dict | None) -> dict:
    """The ``timeseries`` sub-section with defaults filled in."""
    return resolve_section("mri.timeseries", (settings or {}).get("timeseries"))


def _format(path: Path, fmt: str) -> str:
    if fmt and fmt.lower() != "auto":
        kind = fmt.lower().lstrip(".")
        return "1D" if kind in ("1d", "txt") else kind
    name = path.name.lower()
    for ext in ("1d", "tsv", "csv", "mat", "npy", "txt"):
        if name.endswith("." + ext):
            return "1D" if ext in ("1d", "txt") else ext
    raise MRIInputError(
        f"{path}: cannot tell the time series format from the name; set "
        "'timeseries.format' to one of 1D, tsv, csv, mat, npy."
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip().lower() in ("n/a", "nan", "")
    return True


def read_timeseries(
    path: str | Path,
    fmt: str = "auto",
    variable: str = "ROISignals",
    region_names=None,
) -> pd.DataFrame:
    """Read a time x region table from a ready-made parcellated time series file.

    Parameters
    ----------
    path : path
        The file.
    fmt : str
        ``auto`` (from the extension), ``1D``, ``tsv``, ``csv``, ``mat`` or ``npy``.
    variable : str
        MATLAB variable holding the time x region matrix (``mat`` only).
    region_names : None, str or list
        Column names: None keeps the file's header (else ``region001``...), ``'aal116'``
        names the 116 AAL regions, a list gives them explicitly, any other string is a
        TSV/CSV with a ``name`` column.

    Returns
    -------
    DataFrame
        Time x regions, float, in file order.

    Raises
    ------
    MRIInputError
        Unreadable file, wrong variable, non-numeric values, or a names list of the wrong
        length.
    """
    path = Path(path)
    problem = file_problem(path)
    if problem:
        raise MRIInputError(f"{path}: time series file {problem}.")
    kind = _format(path, fmt)
    header = None
    try:
        if kind == "mat":
            from scipy.io import loadmat

            content = loadmat(path)
            if variable not in content:
                found = [k for k in content if not k.startswith("__")]
                raise MRIInputError(
                    f"{path}: no variable {variable!r} (found {found}); set 'timeseries.variable'."
                )
            values = np.asarray(content[variable], dtype=float)
        elif kind == "npy":
            values = np.asarray(np.load(path, allow_pickle=False), dtype=float)
        elif kind == "1D":
            lines = path.read_text().splitlines()
            first = lines[0].strip() if lines else ""
            if first.startswith("#"):
                header = [h.lstrip("#") for h in first.lstrip("#").split()]
            values = np.loadtxt(lines, comments="#", ndmin=2)  # C parser, same doubles
        elif kind in ("tsv", "csv"):
            sep = "\t" if kind == "tsv" else ","
            with path.open() as handle:
                first = handle.readline().rstrip("\n").split(sep)
            has_header = not all(_is_number(v) for v in first)
            table = pd.read_csv(path, sep=sep, header=0 if has_header else None, na_values=["n/a"])
            header = [str(c) for c in table.columns] if has_header else None
            values = table.to_numpy(dtype=float)
        else:
            raise MRIInputError(f"{path}: unknown time series format {kind!r}.")
    except MRIInputError:
        raise
    except Exception as err:
        raise MRIInputError(
            f"{path}: cannot read it as {kind} time series ({type(err).__name__}: {err})."
        ) from err
    if values.ndim != 2 or min(values.shape) < 2:
        raise MRIInputError(f"{path}: expected a time x region matrix, got shape {values.shape}.")
    names = _region_names(region_names, header, values.shape[1], path)
    return pd.DataFrame(values, columns=names)


def _region_names(spec, header, n: int, path: Path) -> list[str]:
    if spec is None:
        names = header or [f"region{k + 1:03d}" for k in range(n)]
    elif isinstance(spec, str) and spec.lower() in NAMED_REGION_SETS:
        names = NAMED_REGION_SETS[spec.lower()]
    elif isinstance(spec, str | Path):
        sep = "\t" if str(spec).endswith(".tsv") else ","
        names = [str(x) for x in pd.read_csv(spec, sep=sep)["name"]]
    else:
        names = [str(x) for x in spec]
    if len(names) != n:
        raise MRIInputError(
            f"{path}: {n} columns but {len(names)} region names ({spec or 'header'}). Check "
            "'timeseries.region_names' (the atlas) for this dataset."
        )
    names = [str(x).replace("__", "_") for x in names]  # '__' separates the two ends of an edge
    if len(set(names)) != len(names):
        raise MRIInputError(f"{path}: region names are not unique.")
    return names


def clean_timeseries(frame: pd.DataFrame, ts_settings: dict) -> tuple[pd.DataFrame, list[str]]:
    """Optionally re-clean, z-score, and blank missing (constant/non-finite) regions.

    Returns the cleaned table (same columns) and the names of the missing regions.
    """
    values = frame.to_numpy(dtype=float).copy()
    finite = np.isfinite(values).all(axis=0)
    ok = finite.copy()
    ok[finite] = values[:, finite].std(axis=0) > 0
    out = np.full_like(values, np.nan)
    if ok.any():
        filtering = ts_settings["high_pass"] or ts_settings["low_pass"]
        if filtering and not ts_settings["tr"]:
            raise MRIInputError("Filtering ready time series needs 'timeseries.tr' (seconds).")
        if filtering or ts_settings["detrend"] or ts_settings["standardize"] != "zscore_sample":
            out[:, ok] = _clean(values[:, ok], ts_settings)
        else:  # the default: nilearn's z-score bits, without importing nilearn
            out[:, ok] = zscore_sample(values[:, ok])
    missing = [c for c, good in zip(frame.columns, ok, strict=True) if not good]
    return pd.DataFrame(out, columns=frame.columns), missing


def _clean(values: np.ndarray, ts_settings: dict) -> np.ndarray:
    from nilearn.signal import clean

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return clean(
            values,
            detrend=bool(ts_settings["detrend"]),
            standardize=ts_settings["standardize"],
            high_pass=ts_settings["high_pass"],
            low_pass=ts_settings["low_pass"],
            t_r=ts_settings["tr"],
            # one 2-D filtfilt, bit-identical to nilearn's column loop (see region_signals)
            butterworth__copy=True,
        )


def process_timeseries_subject(
    subject: str,
    files,
    out_dir,
    settings: dict | None = None,
    qc_values: dict | None = None,
) -> dict[str, Path]:
    """Features and QC for one subject from ready-made region time series.

    Parameters
    ----------
    subject : str
        Subject label, with or without ``sub-``.
    files : path or list of paths
        One file per run; several runs are combined by ``combine_runs``.
    out_dir : path
        Output root; files go to ``out_dir/sub-XX/func/`` with the names of
        :func:`psymodal.mri.subject_runs.process_subject`.
    settings : dict, optional
        The ``mri`` settings; the ``timeseries`` sub-section (:data:`DEFAULT_TIMESERIES`)
        describes the files, ``qc`` the exclusion rules.
    qc_values : dict, optional
        Motion metrics known from elsewhere (e.g. ``{'mean_fd': 0.12}`` from a phenotypic
        table); they enter the QC row and the FD exclusion rule.

    Returns
    -------
    dict
        ``features``, ``qc``, ``runs_qc`` and ``timeseries`` (the cleaned copies written).
    """
    threads = single_thread()  # noqa: F841 -- the limit lasts while the controller lives
    settings = fill_settings(settings)
    ts_set = timeseries_settings(settings)
    rules = qc_settings(settings["qc"])
    sub = normalize_subject(subject)
    participant_id = f"sub-{sub}"
    files = [Path(f) for f in ([files] if isinstance(files, str | Path) else files)]
    atlas_name = _atlas_name(ts_set)
    kind = settings["connectivity"]
    paths = func_outputs(sub, settings["task"], atlas_name, kind, out_dir)
    from ..io.tables import write_tsv

    run_rows, included, series, ts_paths = [], [], [], []
    names = None
    for k, path in enumerate(files):
        raw = read_timeseries(path, ts_set["format"], ts_set["variable"], ts_set["region_names"])
        if names is None:
            names = list(raw.columns)
        elif list(raw.columns) != names:
            raise MRIInputError(
                f"{participant_id}: {path} has other regions than {files[0]}; all runs of a "
                "subject must use the same atlas."
            )
        ts, missing = clean_timeseries(raw, ts_set)
        tr = ts_set["tr"]
        row = {
            "run": path.name,
            "bold": path.name,
            "included": True,
            "reason": "",
            "n_volumes": len(ts),
            "n_volumes_kept": len(ts),
            "fraction_scrubbed": 0.0,
            "minutes_kept": len(ts) * tr / 60.0 if tr else np.nan,
            "mean_fd": np.nan,
            "max_fd": np.nan,
            "tsnr_median": np.nan,
            "mean_dvars": np.nan,
            "n_missing_regions": len(missing),
            "missing_regions": missing,
        }
        row.update(qc_values or {})
        run_index = k + 1 if len(files) > 1 else None
        ts_path = ready_timeseries_path(sub, settings["task"], atlas_name, out_dir, run_index)
        write_tsv(ts, ts_path)
        ts_paths.append(ts_path)
        too_short = len(ts) < rules["min_volumes"]
        reason = run_exclusion_reason(row, rules)
        if too_short:
            reason = "; ".join(
                filter(None, [reason, f"{len(ts)} volumes < {rules['min_volumes']}"])
            )
        if reason:
            row.update(included=False, reason=reason)
        else:
            included.append(row)
            series.append(ts)
        run_rows.append(row)

    qc = summarize_qc(participant_id, run_rows, included)
    if not tr_known(ts_set):
        qc["minutes_kept"] = np.nan
    reasons = []
    if not included:
        reasons = ["no usable run"] + [f"{r['run']}: {r['reason']}" for r in run_rows]
    else:
        if np.isfinite(qc["minutes_kept"]) and qc["minutes_kept"] < rules["min_minutes"]:
            reasons.append(
                f"{qc['minutes_kept']:.2f} min of data kept < {rules['min_minutes']} min"
            )
        frac = qc["n_missing_regions"] / max(len(names), 1)
        if rules["max_missing_fraction"] is not None and frac > rules["max_missing_fraction"]:
            reasons.append(
                f"{qc['n_missing_regions']} regions missing "
                f"({frac:.0%} > {rules['max_missing_fraction']:.0%})"
            )
    if reasons:
        qc.update(included=False, reason="; ".join(reasons))
        features = pd.Series(np.nan, index=edge_names(names), dtype=float)
    else:
        features = combine_runs(series, kind, settings["combine_runs"])
    out = write_subject_outputs(participant_id, features, qc, paths, run_rows=run_rows)
    out["timeseries"] = ts_paths
    return out


def write_excluded_timeseries(
    subject: str, out_dir, settings: dict | None, reason: str
) -> dict[str, Path]:
    """Write an excluded subject's files: a features row without values (its columns come
    from the other subjects when the tables are stacked: n/a) and the QC row with ``reason``."""

    settings = fill_settings(settings)
    sub = normalize_subject(subject)
    participant_id = f"sub-{sub}"
    paths = func_outputs(
        sub,
        settings["task"],
        _atlas_name(timeseries_settings(settings)),
        settings["connectivity"],
        out_dir,
    )
    qc = summarize_qc(participant_id, [], [])
    qc.update(included=False, reason=reason)
    out = write_subject_outputs(participant_id, pd.Series(dtype=float), qc, paths, run_rows=[])
    out["timeseries"] = []
    return out


def _atlas_name(ts_set: dict) -> str:
    """The atlas entity of ready time series' output names."""
    atlas_name = ts_set["atlas_name"] or (
        ts_set["region_names"] if isinstance(ts_set["region_names"], str) else "custom"
    )
    return Path(str(atlas_name)).name.split(".")[0]


def tr_known(ts_settings: dict) -> bool:
    return bool(ts_settings.get("tr"))


# --------------------------------------------------------------------------------------------
# ABIDE (the /work/shared/data/abide100 layout: phenotypic.csv + Functional/<SUB_ID>.mat)
# --------------------------------------------------------------------------------------------


def read_abide_participants(phenotypic_csv, functional_dir=None) -> pd.DataFrame:
    """ABIDE I phenotypic table -> psymodal participants table (a DataFrame).

    Columns: ``participant_id`` (``sub-<SUB_ID>``), ``diagnosis`` (``patient`` for
    DX_GROUP 1 = autism, ``control`` for 0 -- the recoding of the abide100 copy; the original
    ABIDE coding 2 = control is accepted too), ``age`` (AGE_AT_SCAN), ``sex`` (M/F from
    1/2), ``site`` (SITE_ID), ``mean_fd`` (func_mean_fd). With ``functional_dir`` only the
    subjects that have ``<SUB_ID>.mat`` there are kept. Sorted by participant_id.
    See :func:`psymodal.mri.phenotype.read_abide_phenotype` (any delimiter, encoding and
    missing-value code) and :func:`psymodal.mri.phenotype.timeseries_participants` (other
    layouts, through ``dataset.timeseries_pattern``).
    """
    from .phenotype import read_abide_phenotype

    try:
        columns, rows = read_abide_phenotype(phenotypic_csv)
    except ValueError as err:
        raise MRIInputError(str(err)) from None
    if functional_dir is not None:
        have = {p.stem for p in Path(functional_dir).glob("*.mat")}
        rows = [r for r in rows if r["participant_id"][4:] in have]
    out = pd.DataFrame(rows, columns=columns)
    for column in ("age", "mean_fd"):
        out[column] = pd.to_numeric(out[column]).astype(float)
    return out.reset_index(drop=True)


def abide_settings(settings: dict | None = None) -> dict:
    """``mri`` settings for the abide100 ROI time series (DPABI .mat, AAL 116)."""
    settings = dict(settings or {})
    ts = {
        "format": "mat",
        "variable": "ROISignals",
        "region_names": "aal116",
        "atlas_name": "AAL116",
        **(settings.get("timeseries") or {}),
    }
    settings["timeseries"] = ts
    return settings


def process_abide(root, out_dir, settings: dict | None = None, subjects=None) -> pd.DataFrame:
    """Process every abide100 subject; write ``participants.tsv`` and per-subject outputs.

    Parameters
    ----------
    root : path
        Folder holding ``phenotypic.csv`` and ``Functional/``.
    out_dir : path
        Output root (``participants.tsv`` and ``sub-XX/func/...``).
    settings : dict, optional
        ``mri`` settings; :func:`abide_settings` fills the ``timeseries`` section and the TR
        comes from :data:`ABIDE_TR` by site.
    subjects : list, optional
        Participant ids to process (default: all with a .mat file).

    Returns
    -------
    DataFrame
        The participants table written to ``out_dir/participants.tsv``.
    """
    from ..io.tables import write_tsv

    root = Path(root)
    participants = read_abide_participants(root / "phenotypic.csv", root / "Functional")
    if subjects is not None:
        wanted = {f"sub-{normalize_subject(s)}" for s in subjects}
        participants = participants[participants["participant_id"].isin(wanted)]
    write_tsv(participants, Path(out_dir) / "participants.tsv")
    base = abide_settings(settings)
    for row in participants.itertuples(index=False):
        sub = row.participant_id[4:]
        subj_settings = dict(base)
        subj_settings["timeseries"] = {"tr": ABIDE_TR.get(row.site), **base["timeseries"]}
        process_timeseries_subject(
            sub,
            root / "Functional" / f"{sub}.mat",
            out_dir,
            subj_settings,
            qc_values={"mean_fd": row.mean_fd},
        )
    return participants
