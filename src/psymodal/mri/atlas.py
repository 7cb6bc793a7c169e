"""Offline brain atlases.

The default atlas works without the internet: it turns the 160 Dosenbach et al. (2010)
region centres, shipped inside nilearn's wheel (``nilearn/datasets/data/dosenbach_2010.csv``),
into a labels image of spheres on nilearn's bundled MNI152 (2009, 2 mm) grid, restricted to
the template's brain mask. The coordinates are published values; the construction is
deterministic, so the same nilearn version always gives the same image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import nibabel as nib
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Atlas:
    """A labels atlas: an integer image and a name for every non-zero label.

    Parameters
    ----------
    name : str
        Short identifier, used in file names (``atlas-<name>``).
    labels_img : nibabel.Nifti1Image
        3D integer image; 0 is background.
    labels : pandas.DataFrame
        One row per region with columns ``index`` (the integer in ``labels_img``),
        ``name`` (unique, no ``__``), and optionally ``network``, ``x``, ``y``, ``z``.
    """

    name: str
    labels_img: nib.Nifti1Image
    labels: pd.DataFrame

    @property
    def region_names(self) -> list[str]:
        return list(self.labels["name"])


def _clean(text: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Region"


def dosenbach_coordinates() -> pd.DataFrame:
    """The 160 Dosenbach 2010 ROI centres (MNI mm) with unique region names."""
    path = resources.files("nilearn.datasets") / "data" / "dosenbach_2010.csv"
    with resources.as_file(path) as csv:
        table = pd.read_csv(csv)
    hemi = np.where(table["x"] < 0, "L", np.where(table["x"] > 0, "R", "M"))
    names = [
        f"{_clean(n)}_{h}{int(k):03d}"
        for n, h, k in zip(table["name"], hemi, table["number"], strict=True)
    ]
    return pd.DataFrame(
        {
            "index": table["number"].astype(int),
            "name": names,
            "network": table["network"].str.replace(" ", "-"),
            "x": table["x"].astype(float),
            "y": table["y"].astype(float),
            "z": table["z"].astype(float),
        }
    )


def spheres_to_labels(
    coords: pd.DataFrame, reference: nib.Nifti1Image, mask: np.ndarray, radius_mm: float
) -> nib.Nifti1Image:
    """Rasterise spheres into a labels image; a voxel in two spheres goes to the nearer centre."""
    shape = np.array(reference.shape[:3])
    inv = np.linalg.inv(reference.affine)
    voxel_mm = np.abs(np.diag(reference.affine)[:3])
    reach = np.ceil(radius_mm / voxel_mm).astype(int) + 1
    labels = np.zeros(tuple(shape), dtype=np.int16)
    best = np.full(tuple(shape), np.inf)
    for row in coords.itertuples(index=False):
        centre = np.array([row.x, row.y, row.z])
        c_vox = np.round(nib.affines.apply_affine(inv, centre)).astype(int)
        lo = np.clip(c_vox - reach, 0, shape)
        hi = np.clip(c_vox + reach + 1, 0, shape)
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        ijk = np.indices(hi - lo).reshape(3, -1).T + lo
        dist = np.linalg.norm(nib.affines.apply_affine(reference.affine, ijk) - centre, axis=1)
        dist = dist.reshape(hi - lo)
        take = (dist <= radius_mm) & (dist < best[box]) & mask[box]
        if not take.any():
            # keep every region represented: fall back to the voxel nearest the centre
            voxel = tuple(np.clip(c_vox, 0, shape - 1))
            labels[voxel], best[voxel] = row.index, 0.0
            continue
        labels[box][take] = row.index
        best[box][take] = dist[take]
    return nib.Nifti1Image(labels, reference.affine)


def load_default_atlas(radius_mm: float = 6.0) -> Atlas:
    """Dosenbach 2010 spheres on the bundled MNI152 2 mm grid (offline, deterministic).

    Parameters
    ----------
    radius_mm : float
        Sphere radius. 6 mm keeps every region at least a few voxels at 4 mm BOLD resolution.
    """
    from nilearn.datasets import load_mni152_brain_mask

    mask_img = load_mni152_brain_mask(resolution=2)
    coords = dosenbach_coordinates()
    img = spheres_to_labels(coords, mask_img, np.asarray(mask_img.dataobj) > 0, radius_mm)
    return Atlas(name="dosenbach160", labels_img=img, labels=coords)


def load_atlas_from_path(path: str, labels_tsv: str | None = None, name: str | None = None):
    """Load a labels atlas from a NIfTI file and an optional TSV/CSV with ``index`` and ``name``.

    Without a labels table the regions are named ``region001``... after their integer value.
    """
    from pathlib import Path

    img = nib.load(path)
    if len(img.shape) != 3:
        raise ValueError(
            f"Atlas {path} has shape {img.shape}; a labels atlas must be a 3D integer image. "
            "Probabilistic (4D) atlases are not supported by this loader."
        )
    values = np.unique(np.asarray(img.dataobj).astype(int))
    values = values[values != 0]
    if labels_tsv:
        sep = "\t" if str(labels_tsv).endswith(".tsv") else ","
        table = pd.read_csv(labels_tsv, sep=sep)
        missing = {"index", "name"} - set(table.columns)
        if missing:
            raise ValueError(f"Atlas labels table {labels_tsv} lacks columns {sorted(missing)}")
        table = table[table["index"].isin(values)].sort_values("index").reset_index(drop=True)
        table["name"] = table["name"].astype(str).str.replace("__", "_")
    else:
        table = pd.DataFrame({"index": values, "name": [f"region{v:03d}" for v in values]})
    if not name:
        stem = Path(path).name.split(".")[0]
        # BIDS-style atlas files carry their name in the atlas- entity
        entities = dict(part.split("-", 1) for part in stem.split("_") if "-" in part)
        name = entities.get("atlas", stem)
    return Atlas(name=name, labels_img=img, labels=table)


def load_atlas(spec: dict | None = None) -> Atlas:
    """Load the atlas described by the ``atlas`` section of the config."""
    spec = spec or {}
    kind = spec.get("name", "dosenbach160")
    if spec.get("path"):
        return load_atlas_from_path(spec["path"], spec.get("labels"), spec.get("name"))
    if kind == "dosenbach160":
        return load_default_atlas(float(spec.get("radius_mm", 6.0)))
    raise ValueError(
        f"Unknown atlas {kind!r}. Use 'dosenbach160' (offline) or give 'path' (and 'labels')."
    )


def write_atlas(atlas: Atlas, outdir) -> tuple:
    """Write ``atlas-<name>_dseg.nii.gz`` and ``atlas-<name>_dseg.tsv`` (BIDS-style) to ``outdir``.

    nibabel gzips with a zero timestamp and no file name, so reruns are byte-identical.
    """
    from pathlib import Path

    from psymodal.tables import atomic_path, write_tsv

    outdir = Path(outdir)
    nii = outdir / f"atlas-{atlas.name}_dseg.nii.gz"
    tsv = outdir / f"atlas-{atlas.name}_dseg.tsv"
    with atomic_path(nii) as tmp:
        atlas.labels_img.to_filename(tmp)
    write_tsv(atlas.labels, tsv)
    return nii, tsv
