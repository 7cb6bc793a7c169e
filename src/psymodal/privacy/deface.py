"""Defacing of T1-weighted images with quickshear (Schimke & Hale 2011, quickshear 1.2).

quickshear draws, on the sagittal profile of a brain mask, the line under the brain's lower
convex hull, moves it ``buffer`` voxels away from the brain, and zeroes everything on the face
side of that plane. It needs the mask on the T1w's own voxel grid: fMRIPrep's brain mask
(``desc-brain_mask``, in T1w space or on the same grid as the image). Without such a mask the
T1w is withheld: an image is never shared with its face.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

__all__ = ["deface", "find_brain_mask"]


def same_grid(a, b, atol: float = 1e-3) -> bool:
    """Whether two images share shape (first three axes) and affine."""
    return tuple(a.shape[:3]) == tuple(b.shape[:3]) and np.allclose(a.affine, b.affine, atol=atol)


def deface(t1w, mask, buffer: int = 10):
    """Zero the face side of a T1w image; voxels of the brain mask are never changed.

    Parameters
    ----------
    t1w : nibabel.Nifti1Image
        The anatomical image (3-D).
    mask : nibabel.Nifti1Image
        Brain mask on the same grid (non-zero inside the brain).
    buffer : int, default 10
        Voxels between the shearing plane and the brain.

    Returns
    -------
    nibabel.Nifti1Image
        The defaced image, with the header (and on-disk type) of ``t1w``.

    Raises
    ------
    ValueError
        The mask is empty or not on the image's grid.
    """
    import quickshear

    if not same_grid(t1w, mask):
        raise ValueError("the brain mask is not on the T1w's voxel grid")
    mask_data = np.asanyarray(mask.dataobj)
    if mask_data.ndim != 3 or not np.any(mask_data):
        raise ValueError("the brain mask is empty or not 3-D")
    binary = mask.__class__((mask_data > 0).astype(np.uint8), mask.affine)
    with warnings.catch_warnings():
        # quickshear 1.2 takes np.cross of 2-D vectors (deprecated in NumPy 2, same result)
        warnings.simplefilter("ignore", DeprecationWarning)
        defaced = quickshear.quickshear(t1w, binary, buffer)
    data = np.asanyarray(defaced.dataobj)
    original = np.asanyarray(t1w.dataobj)
    # quickshear's plane lies under the brain's hull; a buffer of 0 on a concave mask must still
    # not cut the brain itself.
    data = np.where(mask_data > 0, original, data).astype(original.dtype, copy=False)
    return t1w.__class__(data, t1w.affine, t1w.header)


_SPACE = re.compile(r"_space-[A-Za-z0-9]+")


def find_brain_mask(t1w_path: str | os.PathLike, t1w, fmriprep_dir: str | os.PathLike | None):
    """fMRIPrep's brain mask on the grid of ``t1w`` (its path), or ``None``.

    The subject's (and session's) ``anat`` folder of the derivatives is searched for
    ``*_desc-brain_mask.nii*``; masks without a ``space-`` entity (T1w space) come first, and a
    mask is used only when it is on the T1w's grid.
    """
    import nibabel as nib

    if fmriprep_dir is None:
        return None
    t1w_path = Path(t1w_path)
    subject_session = [p for p in t1w_path.parent.parts if p.startswith(("sub-", "ses-"))]
    folder = Path(fmriprep_dir).joinpath(*subject_session, "anat")
    if not folder.is_dir():
        return None
    candidates = sorted(
        folder.glob("*_desc-brain_mask.nii*"), key=lambda p: (bool(_SPACE.search(p.name)), p.name)
    )
    for candidate in candidates:
        try:
            mask = nib.load(candidate)
        except Exception:  # an unreadable mask is no mask: the T1w is withheld, with a reason
            continue
        if same_grid(mask, t1w):
            return mask
    return None
