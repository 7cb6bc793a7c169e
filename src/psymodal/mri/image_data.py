"""Reading the voxel data of a NIfTI image in one pass.

nibabel reads a ``.nii.gz`` through Python's :mod:`gzip` stream: the decompressed bytes are
collected, joined and copied into the array, so a 1 GB run briefly takes 2 GB and is copied
twice. :func:`image_data` inflates the file straight into the array's buffer instead (same
zlib, same CRC check of the gzip trailer, one copy), and leaves every other case (uncompressed
files, which nibabel memory-maps; images built in memory) to nibabel. The values and dtype are
those of ``np.asanyarray(img.dataobj)``, scaling included.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

#: Compressed bytes read per step, and most decompressed bytes produced per step (bounds the
#: temporary memory on top of the array itself).
_READ_BYTES = 1 << 22
_OUT_BYTES = 1 << 24


def image_data(img) -> np.ndarray:
    """The data array of ``img``, as ``np.asanyarray(img.dataobj)`` returns it.

    Parameters
    ----------
    img : nibabel image
        A NIfTI image loaded from a file (``nib.load``) or built in memory.

    Returns
    -------
    ndarray
        The stored dtype after nibabel's scaling rules (float32 stays float32).

    Raises
    ------
    EOFError
        The compressed file ends before the data do.
    zlib.error
        The compressed stream is corrupt (including a wrong CRC).
    """
    from nibabel.arrayproxy import ArrayProxy
    from nibabel.volumeutils import apply_read_scaling

    proxy = img.dataobj
    path = getattr(proxy, "file_like", None)
    if (
        type(proxy) is not ArrayProxy
        or not isinstance(path, str | Path)
        or not str(path).endswith(".gz")
    ):
        return np.asanyarray(proxy)
    dtype = np.dtype(proxy.dtype)
    buffer = np.empty(int(np.prod(proxy.shape)) * dtype.itemsize, dtype=np.uint8)
    _inflate_into(Path(path), int(proxy.offset), buffer)
    raw = np.ndarray(proxy.shape, dtype=dtype, buffer=buffer, order=proxy.order)
    # the scaling step of nibabel's ArrayProxy._get_scaled (dtype None), unchanged
    slope, inter = np.asanyarray(proxy.slope), np.asanyarray(proxy.inter)
    if np.can_cast(slope, slope.dtype):
        slope = slope.astype(slope.dtype)
    if np.can_cast(inter, slope.dtype):
        inter = inter.astype(slope.dtype)
    return apply_read_scaling(raw, slope, inter)


def _inflate_into(path: Path, offset: int, out: np.ndarray) -> None:
    """Decompress ``path`` (gzip), skip ``offset`` bytes and fill ``out`` (uint8) exactly.

    The stream is read to its end so that zlib checks the gzip trailer (CRC-32 and length);
    several concatenated gzip members are read as one stream, like :mod:`gzip` does.
    """
    need = out.size
    pos = -offset  # negative while still inside the header
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = b""
    with open(path, "rb") as handle:
        while True:
            if not pending:
                pending = handle.read(_READ_BYTES)
                if not pending:
                    if pos < need or not inflater.eof:
                        raise EOFError(
                            f"{path}: compressed data end after {max(pos, 0)} of {need} bytes"
                        )
                    return
            if inflater.eof:  # another gzip member may follow; zero padding is skipped
                pending = pending.lstrip(b"\x00")
                if not pending:
                    continue
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            room = need - pos if pos < need else _OUT_BYTES
            piece = inflater.decompress(pending, min(room, _OUT_BYTES) or _OUT_BYTES)
            pending = inflater.unconsumed_tail or inflater.unused_data
            if piece:
                start = max(pos, 0)
                pos += len(piece)
                stop = min(pos, need)
                if stop > start:
                    skip = len(piece) - (pos - start)
                    out[start:stop] = np.frombuffer(piece, np.uint8, stop - start, skip)
