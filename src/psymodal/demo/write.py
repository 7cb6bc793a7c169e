"""Byte-deterministic writers for the demo dataset (NIfTI, WAV) and its BIDS metadata texts."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import nibabel as nib
import numpy as np

from psymodal.io.tables import atomic_path

#: NIfTI sform/qform codes.
SCANNER = 1
MNI = 4
#: gzip level of the written images: 1 is fast and still shrinks the zero background.
GZIP_LEVEL = 1


def nifti_bytes(
    data: np.ndarray,
    affine: np.ndarray,
    *,
    tr: float | None = None,
    code: int = MNI,
) -> bytes:
    """Serialise an image to uncompressed NIfTI-1 bytes with a fully specified header.

    Parameters
    ----------
    data : numpy.ndarray
        3D or 4D array; its dtype is the on-disk dtype.
    affine : numpy.ndarray
        Voxel-to-world affine.
    tr : float, optional
        Repetition time (s), stored as the fourth zoom for 4D images.
    code : int
        sform/qform code (:data:`SCANNER` or :data:`MNI`).

    Returns
    -------
    bytes
    """
    img = nib.Nifti1Image(np.asarray(data), affine)
    header = img.header
    header.set_data_dtype(data.dtype)
    header.set_xyzt_units("mm", "sec")
    zooms = tuple(float(z) for z in np.abs(np.diag(affine)[:3]))
    if data.ndim == 4:
        zooms = zooms + (float(tr) if tr is not None else 1.0,)
    header.set_zooms(zooms)
    img.set_sform(affine, code=code)
    img.set_qform(affine, code=code)
    return img.to_bytes()


def write_gzip_bytes(path: str | os.PathLike, raw: bytes, level: int = GZIP_LEVEL) -> Path:
    """Gzip ``raw`` into ``path`` atomically with no timestamp and no file name in the header.

    ``gzip.GzipFile`` otherwise stores the current time and the (temporary) file name, which
    would make reruns differ byte for byte.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=handle, compresslevel=level, mtime=0
        ) as gz:
            gz.write(raw)
    return Path(path)


def write_nifti(path: str | os.PathLike, data: np.ndarray, affine: np.ndarray, **kw) -> Path:
    """Write a ``.nii.gz`` deterministically and atomically (see :func:`nifti_bytes`)."""
    return write_gzip_bytes(path, nifti_bytes(data, affine, **kw))


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write 16-bit PCM WAV atomically (no timestamps in WAV headers)."""
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(tmp, audio, sample_rate, subtype="PCM_16", format="WAV")
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a UTF-8 text file atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


PARTICIPANTS_JSON = {
    "participant_id": {"Description": "Unique participant identifier."},
    "diagnosis": {
        "Description": "Diagnostic group (synthetic).",
        "Levels": {"patient": "psychiatric patient", "control": "healthy control"},
    },
    "age": {"Description": "Age at scanning.", "Units": "year"},
    "sex": {"Description": "Sex.", "Levels": {"M": "male", "F": "female"}},
    "site": {"Description": "Acquisition site (scanner and recording room)."},
    "symptom_score": {
        "Description": "Symptom severity score (synthetic, planted: see ground_truth/README.md).",
        "Units": "points",
    },
}
