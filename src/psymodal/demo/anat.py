"""Anatomy of the demo study: templates, the BOLD grid, and per-subject T1w and GM maps.

Everything is in MNI152NLin2009cAsym space, built from nilearn's bundled MNI152 templates
(no download). Subjects differ from the template by a global tissue scaling, a smooth
multiplicative intensity (bias) field and noise; their grey-matter probability maps by a smooth
field and, for patients, a planted reduction in a few regions (:data:`GM_REDUCTION_REGIONS`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import nibabel as nib
import numpy as np

from psymodal.demo.spec import DemoSpec, SubjectParams

#: Atlas regions around which patients have lower grey-matter probability.
GM_REDUCTION_REGIONS = ("MPFC_M004", "DACC_R027", "AntInsula_R026", "AntInsula_L028")
#: Radius (mm) of the spheres of reduced grey matter.
GM_REDUCTION_RADIUS_MM = 12.0
#: Multiplicative GM-probability reduction at the sphere centre in patients (Gaussian profile).
GM_REDUCTION = 0.04
#: Scale of the stored T1w intensities (template 0-1 -> 0-1000, int16 on disk).
T1_SCALE = 1000.0


@dataclass(frozen=True)
class Templates:
    """Shared anatomical inputs, computed once per study.

    Attributes
    ----------
    affine : numpy.ndarray
        Affine of the 2 mm template grid.
    t1, gm, wm : numpy.ndarray
        MNI152 T1 (0-1), grey- and white-matter probability maps on the 2 mm grid.
    mask : numpy.ndarray
        Boolean brain mask on the 2 mm grid.
    bold_affine : numpy.ndarray
        Affine of the BOLD grid (``voxel_mm`` isotropic, cropped to the brain).
    bold_shape : tuple of int
        Shape of the BOLD grid.
    bold_mask : numpy.ndarray
        Boolean brain mask on the BOLD grid.
    bold_gm, bold_wm, bold_csf : numpy.ndarray
        Tissue probabilities on the BOLD grid (CSF = brain minus GM minus WM).
    bold_labels : numpy.ndarray
        Atlas labels (integers) resampled with nearest-neighbour onto the BOLD grid, inside
        the mask.
    region_index : numpy.ndarray
        The atlas integer of every region, in atlas order.
    region_names : list of str
        Atlas region names, in atlas order.
    networks : list of str
        Atlas network of every region.
    region_xyz : numpy.ndarray
        (n_regions, 3) region centres in mm.
    """

    affine: np.ndarray
    t1: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    mask: np.ndarray
    bold_affine: np.ndarray
    bold_shape: tuple[int, int, int]
    bold_mask: np.ndarray
    bold_gm: np.ndarray
    bold_wm: np.ndarray
    bold_csf: np.ndarray
    bold_labels: np.ndarray
    region_index: np.ndarray
    region_names: list[str]
    networks: list[str]
    region_xyz: np.ndarray


def bold_grid(mask_img: nib.Nifti1Image, voxel_mm: float) -> tuple[np.ndarray, tuple]:
    """An isotropic grid of ``voxel_mm`` covering the brain mask's bounding box (+1 voxel).

    Parameters
    ----------
    mask_img : nibabel.Nifti1Image
        Brain mask on the template grid.
    voxel_mm : float
        Voxel size.

    Returns
    -------
    affine : numpy.ndarray
    shape : tuple of int
    """
    ijk = np.argwhere(np.asarray(mask_img.dataobj) > 0)
    corners = nib.affines.apply_affine(mask_img.affine, np.array([ijk.min(0), ijk.max(0)]))
    lo = np.floor(corners.min(0) / voxel_mm) * voxel_mm - voxel_mm
    hi = np.ceil(corners.max(0) / voxel_mm) * voxel_mm + voxel_mm
    shape = tuple(int(v) for v in np.round((hi - lo) / voxel_mm).astype(int) + 1)
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    affine[:3, 3] = lo
    return affine, shape


def load_templates(spec: DemoSpec) -> Templates:
    """Load nilearn's MNI152 templates and the default atlas, and build the BOLD grid.

    The result is cached per ``voxel_mm`` within a process (it is never modified).

    Parameters
    ----------
    spec : DemoSpec
        Gives ``voxel_mm``.

    Returns
    -------
    Templates
    """
    return _load_templates(float(spec.voxel_mm))


@functools.lru_cache(maxsize=2)
def _load_templates(voxel_mm: float) -> Templates:
    import warnings

    from nilearn.datasets import (
        load_mni152_brain_mask,
        load_mni152_gm_template,
        load_mni152_template,
        load_mni152_wm_template,
    )
    from nilearn.image import resample_img

    from psymodal.mri.atlas import load_default_atlas

    t1_img = load_mni152_template(resolution=2)
    gm_img = load_mni152_gm_template(resolution=2)
    wm_img = load_mni152_wm_template(resolution=2)
    mask_img = load_mni152_brain_mask(resolution=2)
    atlas = load_default_atlas()
    affine, shape = bold_grid(mask_img, voxel_mm)

    def resample(img, interpolation):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = resample_img(
                img,
                target_affine=affine,
                target_shape=shape,
                interpolation=interpolation,
                force_resample=True,
                copy_header=True,
            )
        return np.asarray(out.dataobj, dtype=np.float64)

    mask2 = np.asarray(mask_img.dataobj) > 0
    bold_mask = resample(nib.Nifti1Image(mask2.astype(np.float32), mask_img.affine), "continuous")
    bold_mask = bold_mask > 0.5
    gm = np.clip(resample(gm_img, "continuous"), 0, 1) * bold_mask
    wm = np.clip(resample(wm_img, "continuous"), 0, 1) * bold_mask
    total = gm + wm
    over = total > 1
    gm[over] /= total[over]
    wm[over] /= total[over]
    csf = np.clip(1.0 - gm - wm, 0, 1) * bold_mask
    labels = resample(atlas.labels_img, "nearest").astype(np.int32) * bold_mask
    table = atlas.labels
    templates = Templates(
        affine=t1_img.affine.copy(),
        t1=np.asarray(t1_img.dataobj, dtype=np.float32),
        gm=np.asarray(gm_img.dataobj, dtype=np.float32),
        wm=np.asarray(wm_img.dataobj, dtype=np.float32),
        mask=mask2,
        bold_affine=affine,
        bold_shape=shape,
        bold_mask=bold_mask,
        bold_gm=gm,
        bold_wm=wm,
        bold_csf=csf,
        bold_labels=labels,
        region_index=table["index"].to_numpy(dtype=int),
        region_names=list(table["name"]),
        networks=list(table["network"]) if "network" in table else ["all"] * len(table),
        region_xyz=table[["x", "y", "z"]].to_numpy(dtype=float),
    )
    for value in vars(templates).values():  # shared through the cache: freeze the arrays
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return templates


def smooth_field(shape, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """A smooth multiplicative field ``1 + sum(c_k * basis_k)`` (second-order polynomial).

    Parameters
    ----------
    shape : tuple of int
        Grid shape.
    rng : numpy.random.Generator
        Random source for the coefficients.
    amplitude : float
        Standard deviation of each coefficient (the field varies by a few times this).

    Returns
    -------
    numpy.ndarray
        float32 array of ``shape``.
    """
    axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
    x, y, z = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
    terms = [x, y, z, x * x - 1 / 3, y * y - 1 / 3, z * z - 1 / 3, x * y, x * z, y * z]
    coef = rng.normal(0.0, amplitude, len(terms)).astype(np.float32)
    field = np.ones(shape, dtype=np.float32)
    for c, term in zip(coef, terms, strict=True):
        field = field + c * term
    return field


def gm_reduction_map(templates: Templates) -> np.ndarray:
    """Fractional GM reduction (0..:data:`GM_REDUCTION`) on the 2 mm grid for patients."""
    shape = templates.gm.shape
    affine = templates.affine
    if not np.allclose(affine[:3, :3], np.diag(np.diag(affine[:3, :3]))):
        raise ValueError("gm_reduction_map expects an axis-aligned template grid")
    axes = [affine[k, k] * np.arange(shape[k]) + affine[k, 3] for k in range(3)]
    reduction = np.zeros(shape, dtype=np.float32)
    sigma = GM_REDUCTION_RADIUS_MM / 2.0
    for name in GM_REDUCTION_REGIONS:
        if name not in templates.region_names:
            continue
        centre = templates.region_xyz[templates.region_names.index(name)]
        dx, dy, dz = ((axes[k] - centre[k]) ** 2 for k in range(3))
        d2 = dx[:, None, None] + dy[None, :, None] + dz[None, None, :]
        bump = GM_REDUCTION * np.exp(-0.5 * d2 / sigma**2) * (d2 <= GM_REDUCTION_RADIUS_MM**2)
        reduction = np.maximum(reduction, bump.astype(np.float32))
    return reduction


def subject_anatomy(
    templates: Templates,
    params: SubjectParams,
    rng: np.random.Generator,
    gm_reduction: np.ndarray,
) -> dict[str, np.ndarray]:
    """Make one subject's raw T1w, bias-corrected T1w and GM probability map.

    Parameters
    ----------
    templates : Templates
        Shared templates.
    params : SubjectParams
        The subject (patients get the GM reduction).
    rng : numpy.random.Generator
        The subject's anatomy stream.
    gm_reduction : numpy.ndarray
        Output of :func:`gm_reduction_map`.

    Returns
    -------
    dict
        ``t1w_raw`` and ``t1w_preproc`` (int16, template scaled to ~0-1000) and ``gm``
        (float32, 0-1 in steps of 1/250).
    """
    head = templates.t1 > 0
    tissue_scale = rng.uniform(0.9, 1.1)
    bias = smooth_field(templates.t1.shape, rng, 0.04)
    noise = rng.standard_normal(int(head.sum()), dtype=np.float32) * 0.015
    clean = templates.t1 * np.float32(tissue_scale * T1_SCALE)
    noisy = clean.copy()
    noisy[head] += noise * np.float32(T1_SCALE)
    raw = np.clip(np.round(noisy * bias), 0, 32767).astype(np.int16)
    preproc = np.clip(np.round(noisy), 0, 32767).astype(np.int16) * templates.mask
    # Between-subject variation of real grey matter: a global factor (brain size, age) of about
    # 7 % and a smooth regional field of about 6 %, against which the planted reduction is small.
    gm_field = smooth_field(templates.gm.shape, rng, 0.06) * np.float32(rng.normal(1.0, 0.07))
    gm = templates.gm * gm_field
    if params.patient:
        gm = gm * (1.0 - gm_reduction)
    gm = np.clip(gm, 0.0, 1.0) * templates.mask
    gm = (np.round(gm * 250.0) / 250.0).astype(np.float32)
    return {"t1w_raw": raw, "t1w_preproc": preproc.astype(np.int16), "gm": gm}
