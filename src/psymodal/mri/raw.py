"""Parcellated time series from raw BIDS BOLD, without fMRIPrep (a fallback, with caveats).

What is done: dummy-volume removal (``raw.dummy_scans``), an EPI brain mask
(:func:`nilearn.masking.compute_epi_mask` on the mean image), the atlas resampled (nearest
neighbour) to the BOLD grid, optional spatial smoothing, linear detrending, band-pass
filtering, regression of high-variance confounds (CompCor-like, Behzadi et al. 2007;
``raw.high_variance_confounds``) and z-scoring, all in :class:`NiftiLabelsMasker`.

What is NOT done: **no motion correction, no slice-timing correction, no susceptibility
distortion correction and no registration to the atlas space.** The atlas is applied in the
image's own world coordinates, which is only meaningful for data already aligned with the
atlas space (e.g. synthetic demo data, or data normalised by another tool). There are no
motion estimates, so framewise displacement is n/a and the FD rules cannot exclude anyone.
Prefer fMRIPrep derivatives for real studies.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from psymodal.settings import resolve_section

from .atlas import Atlas
from .errors import MRIInputError, RunTooShortError
from .layout import TR_SOURCE, RunInputs, normalize_subject, parse_entities, resolve_tr
from .qc import RunFigureInputs, RunQC, qc_settings, voxel_metrics
from .settings import fill_settings
from .timeseries import atlas_columns, frozen_gc, labels_on_grid, load_header, read_data

# high_variance_confounds: nilearn's 5 principal components of the 2% highest-variance voxels


def raw_settings(settings: dict) -> dict:
    """The ``raw`` sub-section of the ``mri`` settings with defaults."""
    return resolve_section("mri.raw", settings.get("raw"))


def find_raw_runs(
    bids_dir, subject: str, task: str = "rest", tr_source: str = TR_SOURCE
) -> list[RunInputs]:
    """Raw BIDS BOLD runs ``sub-XX[/ses-YY]/func/*_task-T*_bold.nii[.gz]`` of one subject.

    ``tr_source`` says which TR to trust when the sidecar and the header differ
    (:func:`psymodal.mri.layout.resolve_tr`).
    """
    sub = normalize_subject(subject)
    root = Path(bids_dir) / f"sub-{sub}"
    pattern = f"sub-{sub}_*task-{task}*_bold.nii*"
    files = sorted(set(root.glob(f"func/{pattern}")) | set(root.glob(f"ses-*/func/{pattern}")))
    runs = []
    for bold in files:
        ents, suffix = parse_entities(bold)
        if suffix != "bold" or ents.get("task") != task or ents.get("sub") != sub:
            continue
        tr, note = resolve_tr(bold, bids_dir, sub, tr_source)
        runs.append(
            RunInputs(
                subject=sub,
                session=ents.get("ses"),
                task=task,
                run=ents.get("run"),
                bold=bold,
                confounds=None,
                mask=None,
                tr=tr,
                entities=ents,
                notes=note,
            )
        )
    return runs


def extract_raw_timeseries(
    run: RunInputs, atlas: Atlas, settings: dict | None = None
) -> tuple[pd.DataFrame, RunQC]:
    """Like :func:`psymodal.mri.timeseries.extract_run_timeseries`, for raw BOLD (see above).

    ``run.confounds`` and ``run.mask`` are ignored; the mask is computed from the EPI.
    """
    from nilearn.maskers import NiftiLabelsMasker
    from nilearn.masking import compute_epi_mask

    settings = fill_settings(settings)
    raw = raw_settings(settings)
    rules = qc_settings(settings["qc"])
    sub = run.subject
    bold = load_header(run.bold, "BOLD image", sub)
    if len(bold.shape) != 4:
        raise MRIInputError(
            f"sub-{sub}: BOLD image {run.bold} has shape {bold.shape}; a 4D image is expected."
        )
    n_vol = int(bold.shape[3])
    n_dummy = int(raw["dummy_scans"])
    kept = np.arange(n_dummy, n_vol)
    n_conf = 5 if raw["high_variance_confounds"] else 0
    need = max(int(rules["min_volumes"]), n_conf + 3)
    if len(kept) < need:
        err = RunTooShortError(
            f"sub-{sub}: {run.bold}: {len(kept)} volumes after {n_dummy} dummy scans "
            f"(need >= {need})."
        )
        err.reason = f"only {len(kept)} volumes (need {need})"
        err.qc = {"n_volumes": n_vol, "n_volumes_kept": len(kept)}
        raise err
    data = read_data(bold, run.bold, "BOLD image", sub)
    if n_dummy:
        data = data[..., n_dummy:]
    img = nib.Nifti1Image(data, bold.affine, bold.header)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask_img = compute_epi_mask(img)
    mask = np.asarray(mask_img.dataobj) > 0
    vox = voxel_metrics(data, mask, np.arange(data.shape[3]))
    if vox["n_nonfinite"]:
        raise MRIInputError(
            f"sub-{sub}: BOLD image {run.bold} has {vox['n_nonfinite']} NaN/inf values inside "
            "the EPI mask."
        )
    labels_img = labels_on_grid(atlas, bold)
    labels = np.asarray(labels_img.dataobj)
    index = atlas.labels["index"].to_numpy(dtype=int)
    present = set(np.unique(labels[mask]).astype(int).tolist()) - {0}
    masker = NiftiLabelsMasker(
        labels_img=labels_img,
        mask_img=mask_img,
        standardize=settings["standardize"],
        detrend=bool(settings["detrend"]),
        low_pass=settings["low_pass"],
        high_pass=settings["high_pass"],
        t_r=run.tr,
        smoothing_fwhm=raw["smoothing_fwhm"] or settings["smoothing_fwhm"],
        high_variance_confounds=bool(raw["high_variance_confounds"]),
        resampling_target="data",
        reports=False,
    )
    with warnings.catch_warnings(), frozen_gc():
        warnings.simplefilter("ignore")
        signals = masker.fit_transform(img)
    ids = [int(v) for k, v in masker.region_ids_.items() if k != "background"]
    if sorted(ids) != sorted(i for i in index.tolist() if i in present):
        raise RuntimeError(f"sub-{sub}: unexpected regions from nilearn; refusing to guess.")
    names = atlas.region_names
    out, missing = atlas_columns(signals, ids, index, names)
    qc = {
        "n_volumes": n_vol,
        "n_dummy": n_dummy,
        "n_volumes_kept": len(kept),
        "fraction_scrubbed": 0.0,
        "minutes_kept": len(kept) * run.tr / 60.0,
        "n_confounds": n_conf,
        "mean_fd": np.nan,
        "max_fd": np.nan,
        "mean_dvars": vox["dvars_mean"],
        "tsnr_median": vox["tsnr_median"],
        "n_missing_regions": len(missing),
        "missing_regions": missing,
    }
    figure = RunFigureInputs(
        mean_img=nib.Nifti1Image(vox["mean_img"], bold.affine), labels_img=labels_img, kept=kept
    )
    frame = pd.DataFrame(out, columns=names, index=pd.Index(kept, name="volume"))
    return frame, RunQC(qc, figure)


def process_raw_subject(
    subject: str, bids_dir, atlas: Atlas, out_dir, settings: dict | None = None
) -> dict[str, Path]:
    """:func:`psymodal.mri.subject_runs.process_subject` for raw BIDS BOLD (no fMRIPrep).

    Writes the same files; the QC reason of a subject without runs says so. See the module
    docstring for what this path does not correct.
    """
    from .subject_runs import process_runs, single_thread

    threads = single_thread()  # noqa: F841 -- the limit lasts while the controller lives
    settings = fill_settings(settings)
    sub = normalize_subject(subject)
    runs = find_raw_runs(bids_dir, sub, settings["task"], settings["tr_source"])
    return process_runs(
        sub, runs, extract_raw_timeseries, atlas, out_dir, settings, f"{bids_dir} (raw BIDS)"
    )
