"""Mean signal of every atlas region, with the numbers of nilearn's labels masker.

:class:`nilearn.maskers.NiftiLabelsMasker` checks the whole 4D run for non-finite values and
then, volume by volume, averages every label with :func:`scipy.ndimage.mean` over the full
3D grid (a copy and a pass over ~900,000 voxels per volume). Here the atlas voxels are found
once and gathered from the run with one index, and each region's sum is the same float64
``bincount`` over the same voxels in the same (C) order as in ``ndimage.mean``, so the region
means are the same bits. Cleaning (detrending, confounds, filtering, scrubbing,
z-scoring) is :func:`nilearn.signal.clean` called with the masker's arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Volumes gathered at a time (bounds the temporary copy for atlases covering the brain).
_VOLUMES_PER_BLOCK = 64


@dataclass(frozen=True)
class LabelVoxels:
    """The voxels of every label of a labels array, grouped by label.

    Attributes
    ----------
    ids : ndarray
        The non-zero labels present, sorted (nilearn's column order).
    coords : tuple of 3 ndarrays of int
        Voxel coordinates, label after label, each label's voxels in C order.
    starts : ndarray of int
        Position in ``coords`` of each label's first voxel.
    counts : ndarray of int
        Voxels per label.
    """

    ids: np.ndarray
    coords: tuple
    starts: np.ndarray
    counts: np.ndarray


def label_voxels(labels: np.ndarray, mask: np.ndarray | None = None) -> LabelVoxels:
    """Group the labelled voxels (label != 0, inside ``mask`` when given) by label.

    Parameters
    ----------
    labels : ndarray, shape (x, y, z)
        Integer (or integral float) labels; 0 is background.
    mask : ndarray of bool, shape (x, y, z), optional
        Voxels outside are background, as with the masker's ``mask_img``.
    """
    labels = np.asarray(labels)
    keep = labels != 0
    if mask is not None:
        keep &= mask
    flat = np.flatnonzero(keep)  # C-order positions, ascending: ndimage's summation order
    values = labels.ravel()[flat] if labels.flags.c_contiguous else labels[keep]
    ids, position, counts = np.unique(values, return_inverse=True, return_counts=True)
    order = np.argsort(position, kind="stable")  # by label, C order kept within a label
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    coords = np.unravel_index(flat[order], labels.shape)
    return LabelVoxels(ids=ids, coords=coords, starts=starts, counts=counts)


def region_means(data: np.ndarray, voxels: LabelVoxels) -> np.ndarray:
    """Mean of every label in every volume of a 4D array.

    Parameters
    ----------
    data : ndarray, shape (x, y, z, t)
        The run (any memory order; a memory map is read only at the atlas voxels).
    voxels : LabelVoxels
        From :func:`label_voxels` on the run's grid.

    Returns
    -------
    ndarray, shape (t, n_labels), Fortran order
        float32 for float32 data, float64 otherwise (as nilearn's ``img_to_signals_labels``):
        the float64 sum over the label's voxels divided by their count.
    """
    n_t = data.shape[3]
    dtype = np.float32 if data.dtype == np.float32 else np.float64
    signals = np.empty((n_t, len(voxels.ids)), dtype=dtype, order="F")
    if not len(voxels.ids):
        return signals
    i, j, k = voxels.coords
    n_labels = len(voxels.ids)
    position = np.repeat(np.arange(n_labels), voxels.counts)
    counts = voxels.counts.astype(np.float64)
    for t0 in range(0, n_t, _VOLUMES_PER_BLOCK):
        block = data[i, j, k, t0 : t0 + _VOLUMES_PER_BLOCK]  # (voxels, volumes)
        for n in range(block.shape[1]):
            # bincount adds the (float64) values one after the other, as ndimage.mean does
            sums = np.bincount(position, weights=block[:, n], minlength=n_labels)
            signals[t0 + n] = sums / counts
    return signals


def clean_signals(
    signals: np.ndarray,
    *,
    detrend: bool,
    standardize,
    low_pass: float | None,
    high_pass: float | None,
    t_r: float,
    confounds=None,
    sample_mask=None,
) -> np.ndarray:
    """:func:`nilearn.signal.clean` with the arguments ``NiftiLabelsMasker`` passes it.

    ``confounds`` (one table or array) goes in a list, as the masker's ``transform`` does;
    confounds are standardised (the masker's default ``standardize_confounds=True``).
    """
    from nilearn.signal import clean

    return clean(
        signals,
        detrend=detrend,
        standardize=standardize,
        standardize_confounds=True,
        t_r=t_r,
        low_pass=low_pass,
        high_pass=high_pass,
        confounds=None if confounds is None else [confounds],
        sample_mask=sample_mask,
        runs=None,
    )
