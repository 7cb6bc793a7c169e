"""Confound selection (via nilearn's fMRIPrep interface) and motion QC metrics.

The denoising strategy is chosen in the ``confounds`` settings:

``strategy``
    ``simple`` (default), ``scrubbing``, ``compcor`` -- nilearn's presets
    (:func:`nilearn.interfaces.fmriprep.load_confounds_strategy`) -- or a list of nilearn
    components such as ``[motion, wm_csf, scrub]`` (custom).
``motion``, ``wm_csf``, ``global_signal``, ``scrub``, ``fd_threshold``, ``std_dvars_threshold``,
``compcor``, ``n_compcor``, ``demean``
    Passed to :func:`nilearn.interfaces.fmriprep.load_confounds`; a key given in the settings
    overrides the preset's value. ``global_signal`` other than null adds global signal
    regression to any preset.

fMRIPrep's discrete-cosine regressors (nilearn component ``high_pass``) are dropped whenever
the masker applies its own high-pass filter (``high_pass`` setting not null), because both do
the same job and regressing filtered-out cosines only costs degrees of freedom.
Non-steady-state volumes (``non_steady_state_outlier_XX``) are always removed.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from psymodal.io.files import file_problem
from psymodal.settings import defaults

from .errors import MRIInputError

# nilearn's presets (nilearn 0.13 load_confounds_strategy.preset_strategies), repeated here so
# that overriding one key keeps the preset's other values and the choice is visible in one place.
PRESETS = {
    "simple": {
        "strategy": ("high_pass", "motion", "wm_csf"),
        "motion": "full",
        "wm_csf": "basic",
        "global_signal": None,
    },
    "scrubbing": {
        "strategy": ("high_pass", "motion", "wm_csf", "scrub"),
        "motion": "full",
        "wm_csf": "full",
        "scrub": 5,
        "fd_threshold": 0.5,
        "std_dvars_threshold": 1.5,
        "global_signal": None,
    },
    "compcor": {
        "strategy": ("high_pass", "motion", "compcor"),
        "motion": "full",
        "compcor": "anat_combined",
        "n_compcor": "all",
        "global_signal": None,
    },
}

#: The defaults of ``mri.confounds`` (from the settings schema, the one place they are written).
DEFAULT_CONFOUNDS = defaults("mri.confounds", include_preset_base=True)

_PARAM_KEYS = (
    "motion",
    "wm_csf",
    "global_signal",
    "scrub",
    "fd_threshold",
    "std_dvars_threshold",
    "compcor",
    "n_compcor",
    "demean",
)


def confound_parameters(settings: dict | None, masker_high_pass: float | None) -> dict:
    """Turn the ``confounds`` settings into keyword arguments for ``load_confounds``.

    Parameters
    ----------
    settings : dict or None
        The ``confounds`` section; missing keys take the preset's value, then the default.
    masker_high_pass : float or None
        The masker's high-pass cutoff; when set, cosine regressors are not requested.

    Returns
    -------
    dict
        ``strategy`` (tuple) plus the parameters nilearn needs for it.
    """
    settings = dict(settings or {})
    strategy = settings.get("strategy", DEFAULT_CONFOUNDS["strategy"])
    if isinstance(strategy, str):
        if strategy not in PRESETS:
            raise MRIInputError(
                f"Unknown confounds strategy {strategy!r}. Use one of {sorted(PRESETS)} or a "
                "list of nilearn components, e.g. [motion, wm_csf, scrub]."
            )
        params = {**DEFAULT_CONFOUNDS, **PRESETS[strategy]}
        components = list(PRESETS[strategy]["strategy"])
    else:
        params = dict(DEFAULT_CONFOUNDS)
        components = [str(c) for c in strategy]
    for key in _PARAM_KEYS:
        if key in settings:
            params[key] = settings[key]
    if params.get("global_signal") and "global_signal" not in components:
        components.append("global_signal")
    if masker_high_pass is not None and "high_pass" in components:
        components.remove("high_pass")
    # nilearn always loads non-steady-state outliers and warns if they are requested
    components = [c for c in components if c != "non_steady_state"]
    params["strategy"] = tuple(components)
    return params


def _nilearn_name(entities: dict) -> tuple[str, str]:
    """Canonical fMRIPrep names nilearn's confounds finder accepts for these entities."""
    keep = {k: v for k, v in entities.items() if k not in ("space", "res", "den", "desc")}
    stem = "_".join(f"{k}-{v}" for k, v in keep.items())
    return (
        f"{stem}_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz",
        f"{stem}_desc-confounds_timeseries",
    )


def load_run_confounds(
    confounds_tsv: str | Path,
    entities: dict,
    params: dict,
    subject: str | None = None,
) -> tuple[pd.DataFrame | None, np.ndarray | None]:
    """Select confounds with nilearn for one run.

    nilearn finds the confounds file from the BOLD file name; to accept any confounds path
    (renamed files, other pipelines writing fMRIPrep columns) the TSV and its JSON are copied
    into a temporary folder under the canonical names next to an empty placeholder image.

    Returns
    -------
    confounds : DataFrame or None
        Regressors for all volumes (None when the strategy selects none).
    sample_mask : ndarray or None
        Indices of the volumes to keep, or None to keep all.
    """
    from nilearn.interfaces.fmriprep import load_confounds

    confounds_tsv = Path(confounds_tsv)
    kwargs = {k: v for k, v in params.items() if k != "strategy"}
    with tempfile.TemporaryDirectory(prefix="psymodal-confounds-") as tmp:
        img_name, conf_stem = _nilearn_name(entities)
        (Path(tmp) / img_name).touch()
        shutil.copyfile(confounds_tsv, Path(tmp) / f"{conf_stem}.tsv")
        sidecar = confounds_tsv.with_suffix(".json")
        if sidecar.is_file():
            shutil.copyfile(sidecar, Path(tmp) / f"{conf_stem}.json")
        else:
            # nilearn only needs the sidecar for anatomical CompCor; give it an empty one
            (Path(tmp) / f"{conf_stem}.json").write_text("{}")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="All volumes were marked")
                confounds, sample_mask = load_confounds(
                    str(Path(tmp) / img_name), strategy=params["strategy"], **kwargs
                )
        except Exception as err:  # nilearn raises ValueError / MissingConfoundError
            who = f"sub-{subject}: " if subject else ""
            raise MRIInputError(
                f"{who}{confounds_tsv}: cannot select confounds for strategy "
                f"{list(params['strategy'])} ({err}). Check that the file has fMRIPrep's "
                "columns, or choose another 'confounds.strategy'."
            ) from err
    if sample_mask is not None:
        sample_mask = np.asarray(sample_mask, dtype=int)
    return confounds, sample_mask


def read_confounds_table(path: str | Path, subject: str | None = None) -> pd.DataFrame:
    """Read an fMRIPrep confounds TSV with a clear error when it is not one."""
    problem = file_problem(path)
    if problem:
        who = f"sub-{subject}: " if subject else ""
        raise MRIInputError(
            f"{who}confounds {path} {problem}. Re-run fMRIPrep or restore the file."
        )
    try:
        table = pd.read_csv(path, sep="\t", na_values=["n/a"])
    except Exception as err:
        who = f"sub-{subject}: " if subject else ""
        raise MRIInputError(
            f"{who}{path}: cannot read the confounds TSV ({err}). Re-run fMRIPrep or restore it."
        ) from err
    return table


def non_steady_state_volumes(table: pd.DataFrame) -> np.ndarray:
    """Indices of volumes flagged by fMRIPrep's ``non_steady_state_outlier_XX`` columns."""
    cols = [c for c in table.columns if c.startswith("non_steady_state_outlier")]
    if not cols:
        return np.array([], dtype=int)
    flags = table[cols].fillna(0).to_numpy().sum(axis=1) > 0
    return np.flatnonzero(flags)


def motion_metrics(table: pd.DataFrame, keep: np.ndarray) -> dict:
    """Framewise displacement and DVARS summaries over the volumes after dummy removal.

    ``keep`` are the volumes that are not non-steady-state; scrubbed volumes count, because
    the metrics describe how much the participant moved, not what survived.
    """
    out = {"mean_fd": np.nan, "max_fd": np.nan, "mean_dvars": np.nan}
    if "framewise_displacement" in table:
        fd = table["framewise_displacement"].to_numpy(dtype=float)[keep]
        fd = fd[np.isfinite(fd)]
        if fd.size:
            out["mean_fd"], out["max_fd"] = float(fd.mean()), float(fd.max())
    if "std_dvars" in table:
        dv = table["std_dvars"].to_numpy(dtype=float)[keep]
        dv = dv[np.isfinite(dv)]
        if dv.size:
            out["mean_dvars"] = float(dv.mean())
    return out
