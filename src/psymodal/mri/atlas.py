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

from psymodal.settings import resolve_section

from .paths import BUILTIN_ATLAS


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
    return Atlas(name=BUILTIN_ATLAS, labels_img=img, labels=coords)


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


# Labels atlases downloaded through nilearn's fetchers (internet needed once, then cached).
FETCHED = ("schaefer", "aal", "harvard_oxford", "destrieux")


class AtlasUnavailableError(RuntimeError):
    """A downloadable atlas is neither cached nor downloadable (offline)."""


def _fetch(kind: str, spec: dict, data_dir):
    from nilearn import datasets

    if kind == "schaefer":
        n_rois = int(spec["n_rois"])
        networks = int(spec["yeo_networks"])
        bunch = datasets.fetch_atlas_schaefer_2018(
            n_rois=n_rois,
            yeo_networks=networks,
            resolution_mm=int(spec["resolution_mm"]),
            data_dir=data_dir,
            verbose=0,
        )
        return bunch, f"schaefer{n_rois}x{networks}"
    if kind == "aal":
        version = str(spec["version"])
        return datasets.fetch_atlas_aal(version=version, data_dir=data_dir, verbose=0), "aal"
    if kind == "harvard_oxford":
        variant = str(spec["variant"])
        bunch = datasets.fetch_atlas_harvard_oxford(variant, data_dir=data_dir, verbose=0)
        return bunch, "harvardoxford"
    if kind == "destrieux":
        return datasets.fetch_atlas_destrieux_2009(data_dir=data_dir, verbose=0), "destrieux"
    raise ValueError(kind)


def _names(raw) -> list[str]:
    """Region names safe for feature columns: str, no '__', unique."""
    out, seen = [], set()
    for name in raw:
        name = name.decode() if isinstance(name, bytes) else str(name)
        name = re.sub(r"\s+", "_", name.strip()).replace("__", "_") or "Region"
        base, k = name, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        out.append(name)
    return out


def fetch_atlas(spec: dict) -> Atlas:
    """A labels atlas from nilearn's fetchers, cached in ``data_dir``.

    Parameters
    ----------
    spec : dict
        ``name``: ``schaefer`` (``n_rois`` 100, ``yeo_networks`` 7, ``resolution_mm`` 2),
        ``aal`` (``version`` SPM12), ``harvard_oxford`` (``variant``
        cort-maxprob-thr25-2mm) or ``destrieux``; ``data_dir``: cache folder (default
        ``$PSYMODAL_ATLAS_DIR``, else nilearn's ``$NILEARN_DATA`` / ``~/nilearn_data``).

    Raises
    ------
    AtlasUnavailableError
        When the atlas is not cached and cannot be downloaded.
    """
    import os

    spec = resolve_section("mri.atlas", spec)
    kind = spec["name"]
    data_dir = spec["data_dir"] or os.environ.get("PSYMODAL_ATLAS_DIR") or None
    try:
        bunch, name = _fetch(kind, spec, data_dir)
    except Exception as err:  # requests/urllib/OSError: any failure means "not available"
        raise AtlasUnavailableError(
            f"Atlas {kind!r} is not cached in {data_dir or 'nilearn_data'} and could not be "
            f"downloaded ({type(err).__name__}: {err}). Either run once with internet access "
            "(set 'atlas.data_dir' to keep the cache with the project), copy the cache from "
            "another machine, give a local file with 'atlas.path' (+ 'atlas.labels'), or use "
            "the offline default 'dosenbach160'."
        ) from err
    img = nib.load(bunch.maps) if isinstance(bunch.maps, str) else bunch.maps
    if len(img.shape) != 3:
        raise ValueError(f"Atlas {kind!r} is probabilistic (4D); a labels atlas is needed.")
    present = set(np.unique(np.asarray(img.dataobj).astype(int)).tolist()) - {0}
    lut = getattr(bunch, "lut", None)
    if lut is not None and {"index", "name"} <= set(lut.columns):
        table = lut[lut["index"].astype(int) != 0][["index", "name"]].copy()
        table["index"] = table["index"].astype(int)
    else:  # older bunches: labels in the order of the integer values, background first
        labels = [x for x in bunch.labels if str(x).lower() != "background"]
        values = (
            [int(v) for v in bunch.indices]
            if getattr(bunch, "indices", None) is not None
            else sorted(present)
        )
        table = pd.DataFrame({"index": values[: len(labels)], "name": labels[: len(values)]})
    table = table[table["index"].isin(present)].sort_values("index").reset_index(drop=True)
    table["name"] = _names(table["name"])
    return Atlas(name=name, labels_img=img, labels=table)


def load_atlas(spec: dict | None = None) -> Atlas:
    """Load the atlas described by the ``atlas`` section of the config.

    ``dosenbach160`` (default) is built offline; ``path`` (+ ``labels``) loads a local file;
    the names in :data:`FETCHED` go through :func:`fetch_atlas` (cached download).
    """
    spec = resolve_section("mri.atlas", spec)
    if spec["path"]:
        return load_atlas_from_path(spec["path"], spec["labels"], spec["name"])
    kind = spec["name"] or BUILTIN_ATLAS
    if kind == BUILTIN_ATLAS:
        return load_default_atlas(float(spec["radius_mm"]))
    if kind in FETCHED:
        return fetch_atlas(spec)
    raise ValueError(
        f"Unknown atlas {kind!r}. Use 'dosenbach160' (offline), one of {list(FETCHED)} "
        "(downloaded once, then cached), or give 'path' (and 'labels')."
    )


def write_atlas(atlas: Atlas, outdir) -> tuple:
    """Write ``atlas-<name>_dseg.nii.gz`` and ``atlas-<name>_dseg.tsv`` (BIDS-style) to ``outdir``.

    nibabel gzips with a zero timestamp and no file name, so reruns are byte-identical.
    """
    from pathlib import Path

    from psymodal.io.tables import atomic_path, write_tsv

    from .paths import atlas_files

    outdir = Path(outdir)
    nii, tsv = atlas_files(outdir, atlas.name)
    with atomic_path(nii) as tmp:
        atlas.labels_img.to_filename(tmp)
    write_tsv(atlas.labels, tsv)
    return nii, tsv
