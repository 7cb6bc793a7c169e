"""Figures written as files: atomically, and byte-identical across reruns.

Every figure is drawn on a matplotlib ``Figure`` (Agg canvas, no display, no global state) and
saved as PNG without the ``Software`` metadata entry, which names matplotlib's version: the
same data and library versions then give the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from psymodal.io.tables import atomic_path

__all__ = ["save_png"]


def save_png(fig, path: str | os.PathLike, dpi: float | None = None) -> Path:
    """Write ``fig`` to ``path`` as PNG through a temporary file, then rename it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
    dpi : float, optional
        Resolution (the figure's own when None).

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi or fig.dpi, metadata={"Software": None})
    return path
