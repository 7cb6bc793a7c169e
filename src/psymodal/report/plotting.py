"""The figure canvas, resolution and empty-panel message shared by the report's figures."""

from __future__ import annotations

from pathlib import Path

from psymodal.io.figures import save_png

# Report figures are read on screen: 100 dpi keeps the PNGs small and the text legible.
DPI = 100


def new_figure(width: float, height: float):
    """A matplotlib Figure (no pyplot state) of ``width`` x ``height`` inches."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` as a PNG atomically, at the report's resolution."""
    return save_png(fig, path, dpi=DPI)


def empty_panel(ax, message: str) -> None:
    """Replace an axis by a centred message (no data for this panel)."""
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, wrap=True)
    ax.set_axis_off()
