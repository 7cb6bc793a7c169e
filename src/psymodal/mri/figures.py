"""Per-subject QC figure: mean EPI with atlas outlines, region carpet plot, motion trace.

Drawn with matplotlib's Agg backend (no display needed) and saved as PNG without the
``Software`` metadata entry, so the same inputs and library versions give identical bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.figures import save_png


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
    """
    # matplotlib.pyplot is not imported: a Figure draws on its own Agg canvas, and importing
    # pyplot (its backend machinery) cost about as much as drawing the figure
    import matplotlib
    from matplotlib.figure import Figure

    mean = np.asarray(mean_img.dataobj, dtype=float)
    labels = np.asarray(labels_img.dataobj).astype(int)
    weights = mean > 0
    centre = (
        np.round(np.argwhere(weights).mean(axis=0)).astype(int)
        if weights.any()
        else np.array(mean.shape) // 2
    )
    fig = Figure(figsize=(11, 8), dpi=90)
    grid = fig.add_gridspec(3, 3, height_ratios=[1.2, 1.3, 0.6])
    vmin, vmax = np.percentile(mean[weights], [2, 99]) if weights.any() else (0.0, 1.0)
    cuts = [
        ("sagittal", mean[centre[0], :, :].T, labels[centre[0], :, :].T),
        ("coronal", mean[:, centre[1], :].T, labels[:, centre[1], :].T),
        ("axial", mean[:, :, centre[2]].T, labels[:, :, centre[2]].T),
    ]
    for k, (name, img, lab) in enumerate(cuts):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(img, cmap="gray", origin="lower", vmin=vmin, vmax=vmax, interpolation="nearest")
        outline = np.ma.masked_where(~_boundaries(lab), np.ones(lab.shape))
        ax.imshow(outline, cmap="autumn", origin="lower", alpha=0.9, interpolation="nearest")
        ax.set_title(f"mean EPI + atlas ({name})", fontsize=9)
        ax.set_axis_off()
    ax = fig.add_subplot(grid[1, :])
    values = timeseries.to_numpy(dtype=float).T
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.6")
    image = ax.imshow(
        np.ma.masked_invalid(values),
        aspect="auto",
        cmap=cmap,
        vmin=-2.5,
        vmax=2.5,
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03).set_label("signal (z)", fontsize=8)
    n_missing = int((~np.isfinite(values).all(axis=1)).sum())
    ax.set_ylabel("region (atlas order)")
    ax.set_xlabel("kept volume")
    ax.set_title(
        f"cleaned region signals (z), {values.shape[1]} kept volumes; "
        f"{n_missing} missing regions in grey",
        fontsize=9,
    )
    ax.set_xticks([])
    ax = fig.add_subplot(grid[2, :])
    if fd is not None:
        t = np.arange(len(fd))
        ax.plot(t, fd, lw=0.8, color="k")
        if kept is not None:
            dropped = np.setdiff1d(t, kept)
            ax.plot(dropped, np.nan_to_num(fd[dropped]), "x", color="tab:red", ms=4)
        if fd_threshold is not None:
            ax.axhline(fd_threshold, color="tab:red", lw=0.6, ls="--")
        ax.set_xlim(0, max(len(fd) - 1, 1))
        ax.set_ylabel("FD (mm)")
        ax.set_xlabel("volume (x: removed)")
    else:
        ax.text(0.5, 0.5, "no motion estimates", ha="center", va="center")
        ax.set_axis_off()
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_png(fig, path)
