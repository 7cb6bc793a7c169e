"""Resources a job asks the scheduler for, estimated from its inputs when the DAG is built.

Plain Python (``gzip`` and ``struct``, no NiBabel): Snakemake evaluates these functions while
it plans the study, in an environment that may hold nothing but Snakemake.
"""

from __future__ import annotations

import gzip
import math
import struct
from collections.abc import Iterable
from pathlib import Path

__all__ = ["mri_batch_mem_mb", "nifti_shape"]

#: Memory (MB) of an MRI batch without images to size it from (time series, the demo).
BASE_MB = 1500


def nifti_shape(path: str | Path) -> tuple[int, ...]:
    """The data shape in a NIfTI-1 or NIfTI-2 header (``.nii`` or ``.nii.gz``).

    Raises
    ------
    ValueError
        When the file does not start with a NIfTI header.
    """
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        header = handle.read(540)
    for order in "<>":
        if len(header) >= 348 and struct.unpack(order + "i", header[:4])[0] == 348:
            dims = struct.unpack(order + "8h", header[40:56])
            break
        if len(header) >= 540 and struct.unpack(order + "i", header[:4])[0] == 540:
            dims = struct.unpack(order + "8q", header[16:80])
            break
    else:
        raise ValueError(f"{path}: not a NIfTI header")
    if not 1 <= dims[0] <= 7:
        raise ValueError(f"{path}: {dims[0]} dimensions in the NIfTI header")
    return tuple(int(d) for d in dims[1 : dims[0] + 1])


def mri_batch_mem_mb(files: Iterable[str | Path]) -> int:
    """Memory for an MRI batch: three float32 copies of its largest BOLD run, sized from the
    header (peak measured: 1,086 MB for a 413 MiB run, whatever the gzip ratio)."""
    bold = [Path(f) for f in files if "_bold.nii" in str(f) and Path(f).exists()]
    if not bold:
        return BASE_MB
    biggest = max(bold, key=lambda f: f.stat().st_size)
    try:
        size = 4 * math.prod(nifti_shape(biggest))  # reads the header only
    except Exception:  # unreadable: the job itself reports it; estimate from the file
        size = 4 * biggest.stat().st_size
    return int(1000 + 3 * size / 2**20)
