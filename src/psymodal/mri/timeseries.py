"""Parcellated, denoised time series of one preprocessed BOLD run.

Cheap checks (file readable, 4D, mask on the BOLD grid, confounds length, TR) run before the
image data are read, so that bad inputs fail in seconds with a message naming the file.
"""

from __future__ import annotations

import gc
import warnings
import zlib
from contextlib import contextmanager
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from ..io.files import file_problem
from .atlas import Atlas
from .confounds import (
    confound_parameters,
    load_run_confounds,
    motion_metrics,
    non_steady_state_volumes,
    read_confounds_table,
)
from .errors import MRIInputError, RunTooShortError
from .image_data import image_data
from .layout import RunInputs
from .qc import RunFigureInputs, RunQC, qc_settings, voxel_metrics
from .region_signals import clean_signals, label_voxels, region_means
from .settings import fill_settings

AFFINE_TOLERANCE = 1e-3  # mm; fMRIPrep writes mask and BOLD with identical affines


def load_header(path: Path, what: str, subject: str) -> nib.Nifti1Image:
    problem = file_problem(path)
    if problem:
        raise MRIInputError(
            f"sub-{subject}: {what} {path} {problem}. Restore the file or re-run the preprocessing."
        )
    try:
        return nib.load(path)
    except Exception as err:
        raise MRIInputError(
            f"sub-{subject}: cannot read {what} {path} ({type(err).__name__}: {err}). "
            "The file is damaged or not NIfTI; re-run the preprocessing or restore it."
        ) from err


def read_data(img: nib.Nifti1Image, path: Path, what: str, subject: str) -> np.ndarray:
    try:
        # the stored dtype (get_fdata would double the memory); a .nii.gz is inflated straight
        # into the array (image_data), without nibabel's second full-size copy
        return image_data(img)
    except (EOFError, OSError, zlib.error, ValueError) as err:
        raise MRIInputError(
            f"sub-{subject}: {what} {path} is truncated or corrupt ({type(err).__name__}: "
            f"{err}). Re-run the preprocessing or restore the file."
        ) from err


@contextmanager
def frozen_gc():
    """Exclude the objects alive now from garbage collection while nilearn runs.

    nilearn's ``safe_get_data`` calls ``gc.collect()`` about ten times per extraction; each
    full collection walks every object of the process (seconds once scikit-learn and friends
    are imported). Freezing the pre-existing objects makes those calls cheap without changing
    what gets freed: objects created inside the block are still collected.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _same_grid(a: nib.Nifti1Image, b: nib.Nifti1Image) -> bool:
    return tuple(a.shape[:3]) == tuple(b.shape[:3]) and np.allclose(
        a.affine, b.affine, atol=AFFINE_TOLERANCE
    )


def check_run(run: RunInputs) -> dict:
    """Validate a run's files from their headers and the confounds table (no image data read).

    Returns
    -------
    dict
        ``bold`` (image proxy), ``mask`` (image or None), ``confounds`` (DataFrame or None),
        ``n_volumes``.

    Raises
    ------
    MRIInputError
        With the file, the subject, what is wrong and what to do.
    """
    sub = run.subject
    bold = load_header(run.bold, "BOLD image", sub)
    if len(bold.shape) != 4:
        raise MRIInputError(
            f"sub-{sub}: BOLD image {run.bold} has shape {bold.shape}; a 4D (x, y, z, time) "
            "image is expected. Point the workflow at the preprocessed BOLD series "
            "(*_desc-preproc_bold.nii.gz), not a reference or mask image."
        )
    n_vol = int(bold.shape[3])
    if n_vol < 2:
        raise MRIInputError(f"sub-{sub}: BOLD image {run.bold} has only {n_vol} volume(s).")
    if not run.tr or not run.tr > 0:
        raise MRIInputError(
            f"sub-{sub}: no RepetitionTime for {run.bold}. Add 'RepetitionTime' (s) to the "
            "BOLD JSON sidecar."
        )
    mask = None
    if run.mask is not None:
        mask = load_header(run.mask, "brain mask", sub)
        if len(mask.shape) != 3 and not (len(mask.shape) == 4 and mask.shape[3] == 1):
            raise MRIInputError(
                f"sub-{sub}: brain mask {run.mask} has shape {mask.shape}; a 3D mask is expected."
            )
        if not _same_grid(mask, bold):
            raise MRIInputError(
                f"sub-{sub}: brain mask {run.mask} (shape {mask.shape[:3]}) is not on the "
                f"grid of the BOLD image {run.bold} (shape {bold.shape[:3]}); their shapes or "
                "affines differ. Use the mask fMRIPrep wrote for this run and space "
                "(same space-/res- entities)."
            )
    confounds = None
    if run.confounds is not None:
        confounds = read_confounds_table(run.confounds, sub)
        if len(confounds) != n_vol:
            raise MRIInputError(
                f"sub-{sub}: confounds {run.confounds} has {len(confounds)} rows but the BOLD "
                f"image {run.bold} has {n_vol} volumes. They must come from the same "
                "fMRIPrep run; re-run fMRIPrep or pair the right files."
            )
    return {"bold": bold, "mask": mask, "confounds": confounds, "n_volumes": n_vol}


def atlas_columns(
    signals: np.ndarray, ids: list[int], index: np.ndarray, names: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Masker signals placed in the atlas's region order, and the regions without signal.

    nilearn returns one column per label that survived masking (``ids``, in its order);
    every atlas region (``index`` / ``names``) gets a column, NaN when it has no signal. A
    region inside the mask but with a flat signal (outside the acquired field of view,
    zero-filled) carries no information and is reported as missing too.
    """
    out = np.full((signals.shape[0], len(index)), np.nan)
    col = {int(v): j for j, v in enumerate(index)}
    for k, label in enumerate(ids):
        out[:, col[label]] = signals[:, k]
    finite = np.isfinite(out).all(axis=0)
    flat = ~finite
    flat[finite] = out[:, finite].std(axis=0) == 0
    out[:, flat] = np.nan
    return out, [names[j] for j in np.flatnonzero(flat)]


def labels_on_grid(atlas: Atlas, reference: nib.Nifti1Image) -> nib.Nifti1Image:
    """The atlas labels resampled (nearest neighbour) to the grid of ``reference``."""
    if _same_grid(atlas.labels_img, reference):
        return atlas.labels_img
    from nilearn.image import resample_img

    with warnings.catch_warnings():
        # lost labels are reported by psymodal as missing regions, not as a nilearn warning
        warnings.simplefilter("ignore")
        img = resample_img(
            atlas.labels_img,
            target_affine=reference.affine,
            target_shape=reference.shape[:3],
            interpolation="nearest",
            force_resample=True,
            copy_header=True,
        )
    data = np.asarray(img.dataobj)
    return nib.Nifti1Image(np.rint(data).astype(np.int32), reference.affine)


def extract_run_timeseries(
    run: RunInputs, atlas: Atlas, settings: dict | None = None
) -> tuple[pd.DataFrame, RunQC]:
    """Denoise one run and average it within each atlas region.

    Parameters
    ----------
    run : RunInputs
        The run's files (see :func:`psymodal.mri.layout.find_runs`).
    atlas : Atlas
        Labels atlas; resampled to the BOLD grid with nearest-neighbour interpolation.
    settings : dict, optional
        The ``mri`` settings (see :mod:`psymodal.mri.settings`).

    Returns
    -------
    timeseries : DataFrame
        Kept volumes x regions, one column per atlas region in atlas order. A region with no
        voxel inside the mask/field of view (or a constant signal) is an all-NaN column.
    qc : RunQC
        Metrics ``n_volumes``, ``n_dummy``, ``n_volumes_kept``, ``fraction_scrubbed``,
        ``minutes_kept``, ``n_confounds``, ``mean_fd``, ``max_fd``, ``mean_dvars``,
        ``tsnr_median``, ``n_missing_regions``, ``missing_regions`` (list of names), read as
        ``qc[name]``; ``qc.figure`` holds what the run's QC figure draws.

    Raises
    ------
    MRIInputError
        For unusable inputs, before the image data are read where possible.
    RunTooShortError
        When fewer than ``qc.min_volumes`` volumes remain after dummy removal and scrubbing.
    """
    settings = fill_settings(settings)
    rules = qc_settings(settings["qc"])
    checked = check_run(run)
    bold, mask_img, table = checked["bold"], checked["mask"], checked["confounds"]
    n_vol = checked["n_volumes"]

    # cheap: which volumes are kept, and the motion metrics, before the data are read
    dummies, after_dummies, confounds, sample_mask = _confounds_and_sample_mask(
        run, table, n_vol, settings
    )
    n_conf = 0 if confounds is None else confounds.shape[1]
    kept = after_dummies if sample_mask is None else np.asarray(sample_mask, dtype=int)
    qc = _volume_qc(run, table, n_vol, dummies, after_dummies, kept, n_conf)
    _check_enough_volumes(run, qc, n_conf, rules)

    # the one full read of the data
    data, mask = _read_data_and_mask(run, bold, mask_img)
    labels_img = labels_on_grid(atlas, bold)
    vox = _voxel_qc(run, data, mask, after_dummies)
    qc["tsnr_median"] = vox["tsnr_median"]
    if not np.isfinite(qc["mean_dvars"]):
        qc["mean_dvars"] = vox["dvars_mean"]

    out, missing = _parcellate(
        run, data, bold, mask, mask_img, labels_img, atlas, settings, confounds, sample_mask
    )
    del data
    qc["n_missing_regions"] = len(missing)
    qc["missing_regions"] = missing
    fd = None
    if table is not None and "framewise_displacement" in table:
        fd = table["framewise_displacement"].to_numpy(dtype=float)
    figure = RunFigureInputs(
        mean_img=nib.Nifti1Image(vox["mean_img"], bold.affine),
        labels_img=labels_img,
        kept=kept,
        fd=fd,
    )
    frame = pd.DataFrame(out, columns=atlas.region_names, index=pd.Index(kept, name="volume"))
    return frame, RunQC(qc, figure)


def _confounds_and_sample_mask(run: RunInputs, table, n_vol: int, settings: dict) -> tuple:
    """Non-steady-state volumes, confound regressors and scrubbing sample mask of a run.

    Parameters
    ----------
    run : RunInputs
    table : DataFrame or None
        The run's fMRIPrep confounds table (from :func:`check_run`).
    n_vol : int
        Volumes in the BOLD image.
    settings : dict
        The filled ``mri`` settings (``confounds``, ``high_pass``).

    Returns
    -------
    dummies : ndarray of int
        Non-steady-state volumes.
    after_dummies : ndarray of int
        The other volumes.
    confounds : DataFrame or None
        Regressors for the masker (None without a confounds file or strategy).
    sample_mask : ndarray of int or None
        Volumes kept after dummy removal and scrubbing (None: keep ``after_dummies``).
    """
    dummies = non_steady_state_volumes(table) if table is not None else np.array([], int)
    after_dummies = np.setdiff1d(np.arange(n_vol), dummies)
    confounds, sample_mask = None, None
    if table is not None:
        params = confound_parameters(settings["confounds"], settings["high_pass"])
        confounds, sample_mask = load_run_confounds(
            run.confounds, run.entities, params, run.subject
        )
    elif settings["confounds"].get("strategy"):
        warnings.warn(
            f"sub-{run.subject}: no confounds file for {run.bold}; the run is only detrended "
            "and filtered, not denoised.",
            stacklevel=3,
        )
    return dummies, after_dummies, confounds, sample_mask


def _volume_qc(run, table, n_vol, dummies, after_dummies, kept, n_conf: int) -> dict:
    """Volume counts and head-motion metrics of a run, from the confounds table only.

    Returns
    -------
    dict
        ``n_volumes``, ``n_dummy``, ``n_volumes_kept``, ``fraction_scrubbed``,
        ``minutes_kept``, ``n_confounds``, ``mean_fd``, ``max_fd``, ``mean_dvars`` (NaN
        motion metrics without a confounds table).
    """
    n_kept = int(len(kept))
    qc = {
        "n_volumes": n_vol,
        "n_dummy": int(len(dummies)),
        "n_volumes_kept": n_kept,
        "fraction_scrubbed": (
            float(1 - n_kept / len(after_dummies)) if len(after_dummies) else 1.0
        ),
        "minutes_kept": n_kept * run.tr / 60.0,
        "n_confounds": n_conf,
    }
    qc.update(
        motion_metrics(table, after_dummies)
        if table is not None
        else {"mean_fd": np.nan, "max_fd": np.nan, "mean_dvars": np.nan}
    )
    return qc


def _check_enough_volumes(run: RunInputs, qc: dict, n_conf: int, rules: dict) -> None:
    """Raise :class:`RunTooShortError` when too few volumes are kept to clean the run.

    Regression needs more samples than regressors (+ detrend/constant); filtering and
    z-scoring need a few more: below ``max(qc.min_volumes, n_confounds + 3)`` the run cannot
    be cleaned at all. The error carries the QC row of the excluded run (``qc``, ``reason``).
    """
    n_vol, n_kept, n_dummy = qc["n_volumes"], qc["n_volumes_kept"], qc["n_dummy"]
    need = max(int(rules["min_volumes"]), n_conf + 3)
    if n_kept >= need:
        return
    err = RunTooShortError(
        f"sub-{run.subject}: {run.bold}: only {n_kept} of {n_vol} volumes remain after "
        f"removing {n_dummy} non-steady-state and scrubbing (need >= {need}). The run is too "
        "short or moved too much; it is excluded (loosen 'confounds' scrubbing or "
        "'qc.min_volumes' to keep it)."
    )
    # process_subject records these in the QC table of the excluded run
    err.qc = dict(qc, tsnr_median=np.nan, n_missing_regions=np.nan, missing_regions=[])
    err.reason = f"only {n_kept} of {n_vol} volumes kept after scrubbing (need {need})"
    raise err


def _read_data_and_mask(run: RunInputs, bold, mask_img) -> tuple[np.ndarray, np.ndarray]:
    """The BOLD data (one full read) and the brain mask as booleans (all True without one).

    Raises
    ------
    MRIInputError
        For a truncated/corrupt image or an empty mask.
    """
    data = read_data(bold, run.bold, "BOLD image", run.subject)
    if mask_img is not None:
        mask = read_data(mask_img, run.mask, "brain mask", run.subject).reshape(bold.shape[:3]) > 0
        if not mask.any():
            raise MRIInputError(f"sub-{run.subject}: brain mask {run.mask} is empty.")
    else:
        mask = np.ones(bold.shape[:3], dtype=bool)
    return data, mask


def _voxel_qc(run: RunInputs, data: np.ndarray, mask: np.ndarray, after_dummies) -> dict:
    """Voxel-wise QC (:func:`psymodal.mri.qc.voxel_metrics`); non-finite data are an error."""
    vox = voxel_metrics(data, mask, after_dummies)
    if vox["n_nonfinite"]:
        raise MRIInputError(
            f"sub-{run.subject}: BOLD image {run.bold} has {vox['n_nonfinite']} NaN/inf values "
            "inside the brain mask. Re-run the preprocessing, or mask the bad voxels out."
        )
    return vox


def _parcellate(
    run: RunInputs,
    data: np.ndarray,
    bold,
    mask: np.ndarray,
    mask_img,
    labels_img,
    atlas: Atlas,
    settings: dict,
    confounds,
    sample_mask,
) -> tuple[np.ndarray, list[str]]:
    """Clean the run and average it within each atlas region.

    The region means and their cleaning are those of nilearn's labels masker (the same bits,
    see :mod:`psymodal.mri.region_signals`), computed from the atlas voxels only; with spatial
    smoothing (``smoothing_fwhm``) the masker itself runs, since every voxel is then needed.

    Returns
    -------
    ndarray
        Kept volumes x every atlas region, in atlas order (NaN for a missing region).
    list of str
        The missing regions (outside the mask/field of view, or flat).

    Raises
    ------
    RuntimeError
        When the atlas image has labels that its table does not name (or, with smoothing,
        when nilearn returns other regions than those that survive the masking).
    """
    if settings["smoothing_fwhm"] is not None:
        return _parcellate_with_masker(
            run, data, bold, mask, mask_img, labels_img, atlas, settings, confounds, sample_mask
        )
    index = atlas.labels["index"].to_numpy(dtype=int)
    # without a mask file the masker uses every labelled voxel (mask is all True then)
    voxels = label_voxels(np.asarray(labels_img.dataobj), mask if mask_img else None)
    ids = [int(v) for v in voxels.ids]
    unnamed = sorted(set(ids) - set(index.tolist()))
    if unnamed:
        raise RuntimeError(
            f"sub-{run.subject}: the atlas image has labels {unnamed[:10]} that its table does "
            "not name; refusing to guess the column order."
        )
    signals = region_means(data, voxels)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        signals = clean_signals(
            signals,
            detrend=bool(settings["detrend"]),
            standardize=settings["standardize"],
            low_pass=settings["low_pass"],
            high_pass=settings["high_pass"],
            t_r=run.tr,
            confounds=confounds,
            sample_mask=sample_mask,
        )
    return atlas_columns(signals, ids, index, atlas.region_names)


def _parcellate_with_masker(
    run: RunInputs,
    data: np.ndarray,
    bold,
    mask: np.ndarray,
    mask_img,
    labels_img,
    atlas: Atlas,
    settings: dict,
    confounds,
    sample_mask,
) -> tuple[np.ndarray, list[str]]:
    """:func:`_parcellate` through nilearn's labels masker (used with spatial smoothing)."""
    from nilearn.maskers import NiftiLabelsMasker

    index = atlas.labels["index"].to_numpy(dtype=int)
    labels = np.asarray(labels_img.dataobj)
    present = set(np.unique(labels[mask]).astype(int).tolist()) - {0}
    surviving = [int(i) for i in index if i in present]

    in_memory = nib.Nifti1Image(data, bold.affine, bold.header)
    masker = NiftiLabelsMasker(
        labels_img=labels_img,
        mask_img=nib.Nifti1Image(mask.astype(np.int8), bold.affine) if mask_img else None,
        standardize=settings["standardize"],
        detrend=bool(settings["detrend"]),
        low_pass=settings["low_pass"],
        high_pass=settings["high_pass"],
        t_r=run.tr,
        smoothing_fwhm=settings["smoothing_fwhm"],
        resampling_target="data",
        reports=False,
    )
    with warnings.catch_warnings(), frozen_gc():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*[Rr]esampl.*")
        # psymodal reports masked-out labels itself (qc missing_regions)
        warnings.filterwarnings("ignore", message=".*labels were removed.*")
        signals = masker.fit_transform(in_memory, confounds=confounds, sample_mask=sample_mask)
    del in_memory, data
    ids = [int(v) for k, v in masker.region_ids_.items() if k != "background"]
    # guard against silent column shifts: nilearn drops masked-out labels without telling
    extra = set(ids) - set(index.tolist())
    if extra or sorted(ids) != sorted(surviving) or signals.shape[1] != len(ids):
        raise RuntimeError(
            f"sub-{run.subject}: nilearn returned regions {ids[:10]}... but {len(surviving)} "
            "atlas regions were expected to survive masking; refusing to guess the column order."
        )
    return atlas_columns(signals, ids, index, atlas.region_names)
