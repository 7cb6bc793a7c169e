"""Quality-control metrics of a BOLD run and the per-subject inclusion rule.

Voxel-wise metrics (temporal SNR, DVARS, the finite-values check) are computed in one pass over
z-slabs of the already loaded data, so that they never allocate a second full-size 4D array.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from psymodal.settings import defaults, resolve_section

#: The defaults of ``mri.qc`` (from the settings schema, the one place they are written).
DEFAULT_QC = defaults("mri.qc")


@dataclass(frozen=True)
class RunFigureInputs:
    """What the QC figure of one run draws (see :func:`psymodal.mri.figures.qc_figure`).

    Attributes
    ----------
    mean_img : nibabel image
        Temporal mean of the run inside the mask (zero elsewhere).
    labels_img : nibabel image
        The atlas on the BOLD grid.
    kept : ndarray of int
        Volumes kept after dummy removal and scrubbing.
    fd : ndarray, optional
        Framewise displacement of every volume, when the confounds table has it.
    """

    mean_img: Any
    labels_img: Any
    kept: np.ndarray
    fd: np.ndarray | None = None


@dataclass
class RunQC(Mapping):
    """Quality control of one extracted run.

    A read-only mapping of its :attr:`metrics`, so ``qc["mean_fd"]`` reads a metric.

    Attributes
    ----------
    metrics : dict
        The values of the run's row in the runs QC table, in column order (``n_volumes``,
        ``mean_fd``, ``tsnr_median``, ``missing_regions``...).
    figure : RunFigureInputs or None
        What the run's QC figure draws; never written to a QC table.
    """

    metrics: dict = field(default_factory=dict)
    figure: RunFigureInputs | None = None

    def __getitem__(self, key: str):
        return self.metrics[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)


def qc_settings(settings: dict | None) -> dict:
    """The ``qc`` settings with defaults filled in."""
    return resolve_section("mri.qc", settings)


def voxel_metrics(data: np.ndarray, mask: np.ndarray, keep: np.ndarray, slab: int = 8) -> dict:
    """Temporal SNR, DVARS and the number of non-finite in-mask values of a 4D array.

    Parameters
    ----------
    data : ndarray, shape (x, y, z, t)
    mask : ndarray of bool, shape (x, y, z)
        Voxels to summarise (brain mask, or atlas voxels without a mask).
    keep : ndarray of int
        Volumes to use (non-steady-state volumes removed).
    slab : int
        Number of z-slices processed at once (bounds the temporary memory).

    Returns
    -------
    dict
        ``tsnr_median`` (median over voxels of mean/std over time), ``dvars_mean`` (mean over
        time of the RMS over voxels of the temporal derivative, in percent of the mean signal,
        i.e. not fMRIPrep's standardised DVARS), ``n_nonfinite`` (non-finite in-mask values),
        ``mean_img`` (temporal mean inside ``mask``, zero elsewhere; for the QC figure).
    """
    tsnr_parts = []
    mean_img = np.zeros(data.shape[:3], dtype=np.float32)
    n_nonfinite = 0
    n_vox = 0
    sq_diff = np.zeros(max(len(keep) - 1, 0))
    keep = np.asarray(keep)
    # The usual case (only leading dummy volumes dropped) is a slice: no copy of the volumes.
    contiguous = len(keep) > 0 and np.array_equal(keep, np.arange(keep[0], keep[0] + len(keep)))
    for z0 in range(0, data.shape[2], slab):
        m = mask[:, :, z0 : z0 + slab]
        if not m.any():
            continue
        block = data[:, :, z0 : z0 + slab][m]  # (voxels, t), a copy of this slab only
        block = block[:, keep[0] : keep[0] + len(keep)] if contiguous else block[:, keep]
        if not np.issubdtype(block.dtype, np.floating):
            block = block.astype(np.float64)  # integer BOLD: differences must not wrap around
        finite = np.isfinite(block)
        if not finite.all():
            n_nonfinite += int(block.size - finite.sum())
            block = np.where(finite, block, 0.0)
        # Sums in float64 without a float64 copy of the block (BOLD is usually float32).
        n_t = block.shape[1]
        mean = np.einsum("ij->i", block, dtype=np.float64) / n_t
        mean_sq = np.einsum("ij,ij->i", block, block, dtype=np.float64) / n_t
        std = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
        mean_img[:, :, z0 : z0 + slab][m] = mean
        ok = (std > 0) & (mean != 0)
        tsnr_parts.append(mean[ok] / std[ok])
        if n_t > 1:
            # percent signal change makes DVARS comparable across scanners
            scale = np.where(mean != 0, 100.0 / np.where(mean != 0, mean, 1.0), 0.0)
            step = np.diff(block, axis=1)
            sq_diff += np.einsum("ij,ij,i->j", step, step, scale * scale, dtype=np.float64)
        n_vox += block.shape[0]
    tsnr = np.concatenate(tsnr_parts) if tsnr_parts else np.array([])
    dvars = np.sqrt(sq_diff / n_vox) if n_vox and sq_diff.size else np.array([])
    return {
        "tsnr_median": float(np.median(tsnr)) if tsnr.size else np.nan,
        "dvars_mean": float(dvars.mean()) if dvars.size else np.nan,
        "n_nonfinite": n_nonfinite,
        "mean_img": mean_img,
    }


def run_exclusion_reason(qc: dict, rules: dict) -> str:
    """Reason to drop one run from the subject's features, or '' to keep it."""
    reasons = []
    if rules.get("max_mean_fd") is not None and qc.get("mean_fd", np.nan) > rules["max_mean_fd"]:
        reasons.append(f"mean FD {qc['mean_fd']:.3g} mm > {rules['max_mean_fd']}")
    if rules.get("max_max_fd") is not None and qc.get("max_fd", np.nan) > rules["max_max_fd"]:
        reasons.append(f"max FD {qc['max_fd']:.3g} mm > {rules['max_max_fd']}")
    frac = qc.get("fraction_scrubbed", np.nan)
    if rules.get("max_fraction_scrubbed") is not None and frac > rules["max_fraction_scrubbed"]:
        reasons.append(f"{frac:.0%} of volumes scrubbed > {rules['max_fraction_scrubbed']:.0%}")
    return "; ".join(reasons)
