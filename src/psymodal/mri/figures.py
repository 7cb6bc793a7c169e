"""Per-subject QC figure: mean EPI with atlas outlines, region carpet plot, motion trace.

Drawn straight into pixels with Pillow (:mod:`psymodal.io.raster_figure`) and written as PNG
atomically: the same inputs and Pillow version give identical bytes. The matplotlib version
of this figure cost ~0.8 CPU-s per run, about a third of the MRI stage's time on the demo;
this one costs a few hundredths of a second (``benchmarks/mri_qc_figure_speed.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.raster_figure import (
    OUTLINE,
    RasterFigure,
    colorize,
    diverging_lut,
    fit_box,
    grey_lut,
)

__all__ = ["qc_figure"]

# 990 x 740 pixels (the 11 x 8 inches at 90 dpi of the matplotlib version, a little taller
# for the motion panel's axis label); three slice columns, then the carpet and the FD trace
_WIDTH, _HEIGHT, _LEFT, _RIGHT = 990, 740, 64, 896
_SLICES = [(12 + k * 326, 56, 326 + k * 326, 272) for k in range(3)]
_CARPET, _FD = (306, 546), (598, 690)
_COLORBAR = (908, 306, 922, 546)
# the carpet's z colour scale and grey for missing regions (matplotlib's "0.6"); the FD
# trace in ink, removed volumes and the threshold in matplotlib's tab:red
_Z_LIMIT, _MISSING, _RED, _TRACE = 2.5, (153, 153, 153), (214, 39, 40), (0, 0, 0)


def _boundaries(labels: np.ndarray) -> np.ndarray:
    """Voxels of a 2D label slice that touch a different label (region outlines)."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    return edge & (labels > 0)


def qc_figure(
    path,
    mean_img,
    labels_img,
    timeseries: pd.DataFrame,
    title: str,
    fd: np.ndarray | None = None,
    kept: np.ndarray | None = None,
    fd_threshold: float | None = 0.5,
) -> Path:
    """Write the QC figure of one run.

    Parameters
    ----------
    path : path
        Output PNG.
    mean_img, labels_img : nibabel images on the same grid
        Temporal mean of the BOLD run and the atlas resampled to it.
    timeseries : DataFrame
        Kept volumes x regions (the extraction output; NaN columns are missing regions).
    title : str
    fd : ndarray, optional
        Framewise displacement of every volume (before removal).
    kept : ndarray, optional
        Indices of the kept volumes (the others are drawn as scrubbed).
    fd_threshold : float, optional
        Horizontal line on the FD panel.

    Returns
    -------
    Path
    """
    mean = np.asarray(mean_img.dataobj, dtype=float)
    labels = np.asarray(labels_img.dataobj).astype(int)
    weights = mean > 0
    centre = (
        np.round(np.argwhere(weights).mean(axis=0)).astype(int)
        if weights.any()
        else np.array(mean.shape) // 2
    )
    fig = RasterFigure(_WIDTH, _HEIGHT, title)

    # three slices through the brain's centre, rows of each image running up (origin lower)
    vmin, vmax = np.percentile(mean[weights], [2, 99]) if weights.any() else (0.0, 1.0)
    grey = grey_lut()
    cuts = [
        ("sagittal", mean[centre[0], :, :].T, labels[centre[0], :, :].T),
        ("coronal", mean[:, centre[1], :].T, labels[:, centre[1], :].T),
        ("axial", mean[:, :, centre[2]].T, labels[:, :, centre[2]].T),
    ]
    for box, (name, img, lab) in zip(_SLICES, cuts, strict=True):
        rows, columns = img.shape
        ax = fig.panel(fit_box(box, img.shape), (-0.5, columns - 0.5), (-0.5, rows - 0.5))
        ax.image(colorize(img, grey, vmin, vmax), overlay=_boundaries(lab), overlay_color=OUTLINE)
        fig.text(((box[0] + box[2]) / 2, box[1] - 6), f"mean EPI + atlas ({name})", 12, "ms")

    # the carpet: one row per region (atlas order, top down), one column per kept volume
    values = timeseries.to_numpy(dtype=float).T
    n_regions, n_kept = values.shape
    n_missing = int((~np.isfinite(values).all(axis=1)).sum())
    ax = fig.panel(
        (_LEFT, _CARPET[0], _RIGHT, _CARPET[1]),
        (-0.5, n_kept - 0.5),
        (-0.5, n_regions - 0.5),
        yinvert=True,
    )
    ramp = diverging_lut()
    if values.size:
        ax.image(colorize(values, ramp, -_Z_LIMIT, _Z_LIMIT, bad=_MISSING))
    ax.title(
        f"cleaned region signals (z), {n_kept} kept volumes; {n_missing} missing regions in grey"
    )
    ax.axes("region (atlas order)", xlabel="kept volume")
    fig.colorbar(_COLORBAR, ramp, -_Z_LIMIT, _Z_LIMIT, "signal (z)")

    # framewise displacement of every volume, removed ones marked
    if fd is None:
        fig.text((_WIDTH / 2, (_FD[0] + _FD[1]) / 2), "no motion estimates", 13, "mm")
        return fig.save(path)
    fd = np.asarray(fd, dtype=float)
    t = np.arange(len(fd))
    dropped = np.setdiff1d(t, kept) if kept is not None else t[:0]
    marks = np.nan_to_num(fd[dropped])  # a removed volume without FD (the first) sits at 0
    # y range over the trace, the marks and the threshold, 5 % margins (matplotlib's autoscale)
    shown = np.r_[fd[np.isfinite(fd)], marks, [] if fd_threshold is None else [fd_threshold]]
    low, high = (float(shown.min()), float(shown.max())) if len(shown) else (0.0, 1.0)
    margin = 0.05 * (high - low) or 0.05
    ax = fig.panel(
        (_LEFT, _FD[0], _RIGHT, _FD[1]), (0, max(len(fd) - 1, 1)), (low - margin, high + margin)
    )
    if fd_threshold is not None:
        ax.hline(fd_threshold, _RED, dash=4)
    ax.line(t, fd, _TRACE)
    ax.crosses(dropped, marks, _RED)
    ax.axes("FD (mm)", xlabel="volume (x: removed)")
    return fig.save(path)
