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

    At the figure's own resolution, its layout engine (if any) is run once and removed before
    saving (see :func:`_settle_layout`): the layout stays as saved if the figure is changed
    and saved again.

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
    dpi = dpi or fig.dpi
    if dpi == fig.dpi:
        _settle_layout(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    return path


def _settle_layout(fig) -> None:
    """Run the figure's layout engine now and remove it, so that ``savefig`` draws once.

    With any layout engine set (``layout="constrained"``, or the placeholder that
    ``Figure.tight_layout()`` leaves behind), ``savefig`` first draws the whole figure with
    drawing disabled, only to run the layout, then draws it again for the file: every image
    is resampled and every text laid out twice. Running the layout here, at the same
    resolution, and saving without an engine gives the same pixels for one draw.
    """
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()
    if engine is None:
        return
    if fig.axes and not isinstance(engine, PlaceHolderLayoutEngine):
        try:
            engine.execute(fig)
        except ValueError:  # as in Figure.draw: the layout cannot be made; draw without it
            pass
    fig.set_layout_engine(None)
