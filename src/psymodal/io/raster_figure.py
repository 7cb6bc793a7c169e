"""Plain line, point and image figures drawn straight into pixels (Pillow), for per-run QC.

A QC figure is drawn once per recording or MRI run, often thousands of times per study.
Matplotlib builds an object per tick, text and marker and lays every text out at each draw: its
three-panel speech figure cost ~0.4 s, four times the analysis it shows (~0.1 s), and its MRI
figure ~0.6 s, a third of the MRI stage on the demo. This module
draws the same kind of figure (stacked panels sharing a time axis, labelled axes, lines,
points, shaded spans, a legend; images of 2D arrays through a colour lookup table, with an
outline mask and a colour bar) directly on a Pillow image in a few milliseconds, and writes
it as PNG atomically and byte-identically for the same data and Pillow version.

Only what the QC figures need: linear axes, no clipping beyond the panel, no anti-aliased
lines, images scaled by nearest neighbour.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np

__all__ = [
    "OUTLINE",
    "Panel",
    "RasterFigure",
    "colorize",
    "diverging_lut",
    "fit_box",
    "grey_lut",
    "nice_ticks",
]

Color = tuple[int, int, int]
_INK: Color = (38, 38, 38)
_FRAME: Color = (90, 90, 90)

#: A warm outline colour: the low end of matplotlib's ``autumn`` colormap (pure red), which
#: the matplotlib MRI QC figure drew its atlas outlines with.
OUTLINE: Color = (255, 0, 0)

# ColorBrewer's 11-class RdBu scheme (Cynthia Brewer, colorbrewer2.org, Apache-2.0 licence),
# dark red to dark blue: matplotlib's ``RdBu`` is these 11 colours interpolated linearly.
_RDBU = (
    (103, 0, 31),
    (178, 24, 43),
    (214, 96, 77),
    (244, 165, 130),
    (253, 219, 199),
    (247, 247, 247),
    (209, 229, 240),
    (146, 197, 222),
    (67, 147, 195),
    (33, 102, 172),
    (5, 48, 97),
)


def grey_lut(n: int = 256) -> np.ndarray:
    """A black-to-white lookup table: ``n`` x 3 uint8 (matplotlib's ``gray``)."""
    ramp = np.round(np.linspace(0, 255, n)).astype(np.uint8)
    return np.repeat(ramp[:, None], 3, axis=1)


def diverging_lut(n: int = 256) -> np.ndarray:
    """Blue (low) through white to red (high): ``n`` x 3 uint8, ColorBrewer's RdBu reversed
    and interpolated linearly between its 11 colours (as matplotlib's ``RdBu_r``)."""
    anchors = np.asarray(_RDBU[::-1], dtype=float)
    where = np.linspace(0, len(anchors) - 1, n)
    channels = [np.interp(where, np.arange(len(anchors)), anchors[:, c]) for c in range(3)]
    return np.round(np.stack(channels, axis=1)).astype(np.uint8)


def colorize(
    values,
    lut: np.ndarray,
    vmin: float,
    vmax: float,
    bad: Color = (153, 153, 153),
) -> np.ndarray:
    """``values`` (2D) through ``lut``: rows x columns x 3 uint8.

    Values are clipped to ``[vmin, vmax]`` and split into ``len(lut)`` equal bins (as
    matplotlib's ``Normalize`` and colormap lookup); values that are not finite get ``bad``.
    """
    values = np.asarray(values, dtype=float)
    n = len(lut)
    span = float(vmax) - float(vmin)
    scaled = (values - vmin) / span if span > 0 else np.zeros_like(values)
    finite = np.isfinite(scaled)
    index = np.clip(np.floor(np.where(finite, scaled, 0.0) * n), 0, n - 1).astype(np.intp)
    rgb = np.asarray(lut, dtype=np.uint8)[index]
    rgb[~finite] = bad
    return rgb


def fit_box(box, shape) -> tuple[int, int, int, int]:
    """The largest box with the aspect of an image of ``shape`` (rows, columns; square
    pixels) centred in ``box`` (left, top, right, bottom), in whole pixels."""
    left, top, right, bottom = (float(v) for v in box)
    rows, columns = max(int(shape[0]), 1), max(int(shape[1]), 1)
    scale = min((right - left) / columns, (bottom - top) / rows)
    width, height = round(columns * scale), round(rows * scale)
    x0 = round(left + (right - left - width) / 2)
    y0 = round(top + (bottom - top - height) / 2)
    return x0, y0, x0 + width, y0 + height


@functools.lru_cache(maxsize=8)
def _font(size: int):
    """Pillow's own scalable font (Aileron) at ``size`` pixels: it ships in the Pillow wheel,
    so the figure's bytes depend on Pillow's version alone (and the speech stage needs no
    matplotlib)."""
    from PIL import ImageFont

    return ImageFont.load_default(size)


@functools.lru_cache(maxsize=1024)
def _text_mask(text: str, size: int, anchor: str, vertical: bool = False):
    """``text`` rendered once as a coverage mask, with its offset from the anchor point:
    tick and axis labels repeat from figure to figure, and rendering glyphs is most of the
    cost of a text."""
    from PIL import Image, ImageDraw

    font = _font(size)
    left, top, right, bottom = font.getbbox(text, anchor=anchor)
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=font, anchor=anchor)
    if vertical:  # a quarter turn left, centred on the anchor point
        mask = mask.transpose(Image.Transpose.ROTATE_90)
        return mask, -mask.width / 2, -mask.height / 2
    return mask, left, top


def nice_ticks(low: float, high: float, target: int = 6) -> np.ndarray:
    """Ticks inside ``[low, high]`` at a step of 1, 2, 2.5 or 5 times a power of ten, the
    count closest to ``target`` (at least two; the fewer on a tie)."""
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        return np.array([low]) if np.isfinite(low) else np.array([])
    base = 10.0 ** math.floor(math.log10((high - low) / target))
    best = None
    for step in (m * base * f for f in (1, 10, 100) for m in (1, 2, 2.5, 5)):
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        count = last - first + 1
        if count >= 2 and (best is None or abs(count - target) <= best[0]):
            best = (abs(count - target), step, first, last)
    if best is None:
        return np.array([low, high])
    _, step, first, last = best
    return np.round(np.arange(first, last + 1) * step, 10)


def _limits(pair) -> tuple[float, float]:
    """Axis limits as floats; an empty or undefined range becomes a unit one."""
    low, high = (float(v) for v in pair)
    if not np.isfinite(low):
        low = 0.0
    if not (np.isfinite(high) and high > low):
        high = low + 1.0
    return low, high


def _tick_label(value: float, ticks: np.ndarray) -> str:
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if decimals == 0 and step % 1:  # 2.5 steps
        decimals = 1
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


class Panel:
    """One plotting area of a :class:`RasterFigure`: data coordinates to pixels.

    Created by :meth:`RasterFigure.panel`; drawing calls take data coordinates.
    """

    def __init__(self, figure, box, xlim, ylim, yinvert: bool = False):
        self.figure = figure
        self.left, self.top, self.right, self.bottom = (float(v) for v in box)
        self.xlim, self.ylim = _limits(xlim), _limits(ylim)
        self.yinvert = bool(yinvert)

    @property
    def draw(self):
        return self.figure.draw

    def px(self, x) -> np.ndarray:
        x0, x1 = self.xlim
        return self.left + (np.asarray(x, dtype=float) - x0) / (x1 - x0) * (self.right - self.left)

    def py(self, y) -> np.ndarray:
        y0, y1 = self.ylim
        offset = (np.asarray(y, dtype=float) - y0) / (y1 - y0) * (self.bottom - self.top)
        return self.top + offset if self.yinvert else self.bottom - offset

    def image(self, rgb: np.ndarray, overlay=None, overlay_color: Color = OUTLINE) -> None:
        """An image filling the panel: ``rgb`` (rows x columns x 3 uint8, e.g. from
        :func:`colorize`), row ``i`` at ``y = i`` and column ``j`` at ``x = j`` (so give the
        panel ``xlim=(-0.5, columns - 0.5)``, ``ylim=(-0.5, rows - 0.5)``; row 0 at the bottom
        unless the panel's y axis is inverted), scaled by nearest neighbour. ``overlay``: a
        boolean mask of the same rows x columns painted in ``overlay_color`` (region outlines).
        """
        from PIL import Image

        rgb = np.array(rgb, dtype=np.uint8)
        if overlay is not None:
            rgb[np.asarray(overlay, dtype=bool)] = overlay_color
        if not self.yinvert:
            rgb = rgb[::-1]
        left, top = round(self.left), round(self.top)
        size = (max(round(self.right) - left, 1), max(round(self.bottom) - top, 1))
        tile = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
        self.figure.image.paste(tile.resize(size, Image.Resampling.NEAREST), (left, top))

    def _clip_x(self, x):
        return np.clip(x, self.left, self.right)

    def _clip_y(self, y):
        return np.clip(y, self.top, self.bottom)

    def span(self, x0: float, x1: float, color: Color) -> None:
        """A shaded band over the whole height (draw it before the data)."""
        a, b = self._clip_x(self.px([x0, x1]))
        if b > a:
            self.draw.rectangle([a, self.top + 1, b, self.bottom - 1], fill=color)

    def envelope(self, x, low, high, color: Color) -> None:
        """A band between ``low`` and ``high`` at each ``x``, one pixel column at a time
        (a waveform's minimum and maximum per column)."""
        from PIL import Image

        left, top = int(self.left), int(self.top)
        width, height = int(self.right) - left + 1, int(self.bottom) - top + 1
        columns = np.round(self.px(x)).astype(int) - left
        keep = (columns >= 0) & (columns < width)
        first = np.round(self._clip_y(self.py(high))).astype(int)[keep] - top
        last = np.round(self._clip_y(self.py(low))).astype(int)[keep] - top
        rows = np.arange(height)[:, None]
        mask = np.zeros((height, width), dtype=bool)
        mask[:, columns[keep]] = (rows >= first) & (rows <= last)
        self.figure.image.paste(color, (left, top), Image.fromarray(mask.astype(np.uint8) * 255))

    def line(self, x, y, color: Color, width: int = 1) -> None:
        """A polyline, broken where ``y`` is not finite."""
        px, py = self.px(x), self._clip_y(self.py(y))
        finite = np.isfinite(py)
        edges = np.flatnonzero(np.diff(np.r_[False, finite, False].astype(int)))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            points = list(zip(px[start:end].tolist(), py[start:end].tolist(), strict=True))
            if len(points) == 1:
                points.append(points[0])
            self.draw.line(points, fill=color, width=width)

    def hline(self, y: float, color: Color, dash: int = 0) -> None:
        """A horizontal line across the panel (dashed with ``dash`` pixels)."""
        if not np.isfinite(y) or not self.ylim[0] <= y <= self.ylim[1]:
            return
        row = float(self.py(y))
        if not dash:
            self.draw.line([(self.left, row), (self.right, row)], fill=color)
            return
        columns = np.arange(int(self.left), int(self.right) + 1)
        on = columns[(columns - int(self.left)) % (2 * dash) < dash]
        self.draw.point([(c, round(row)) for c in on.tolist()], fill=color)

    def vlines(self, x, y0: float, y1: float, color: Color) -> None:
        """Vertical ticks from ``y0`` to ``y1`` at each ``x``."""
        top, bottom = sorted(self._clip_y(self.py([y1, y0])).tolist())
        for cx in self.px(x):
            if self.left <= cx <= self.right:
                self.draw.line([(cx, top), (cx, bottom)], fill=color)

    def points(self, x, y, color: Color, size: int = 2) -> None:
        """Square markers of ``size`` pixels (not finite ``y`` skipped)."""
        px, py = np.round(self.px(x)), np.round(self.py(y))
        keep = np.isfinite(py) & (py >= self.top) & (py <= self.bottom)
        keep &= (px >= self.left) & (px <= self.right)
        base = list(zip(px[keep].astype(int).tolist(), py[keep].astype(int).tolist(), strict=True))
        if not base:
            return
        for dx in range(size):
            for dy in range(size):
                self.draw.point([(a + dx, b + dy) for a, b in base], fill=color)

    def crosses(self, x, y, color: Color, size: int = 3) -> None:
        """``x`` markers reaching ``size`` pixels from each point (not finite ``y`` skipped)."""
        px, py = self.px(x), self.py(y)
        keep = np.isfinite(py) & (py >= self.top) & (py <= self.bottom)
        keep &= (px >= self.left) & (px <= self.right)
        for cx, cy in zip(np.round(px[keep]).tolist(), np.round(py[keep]).tolist(), strict=True):
            self.draw.line([(cx - size, cy - size), (cx + size, cy + size)], fill=color)
            self.draw.line([(cx - size, cy + size), (cx + size, cy - size)], fill=color)

    def title(self, text: str, size: int = 12, centre: bool = False) -> None:
        """Text above the panel, left-aligned (or centred)."""
        if centre:
            self.figure.text(((self.left + self.right) / 2, self.top - 3), text, size, "ms")
            return
        self.figure.text((self.left, self.top - 3), text, size, anchor="ls")

    def legend(self, entries: list[tuple[str, Color]], size: int = 11) -> None:
        """Coloured squares and labels in the panel's upper right corner."""
        font, y = _font(size), self.top + 6
        for label, color in entries:
            width = self.draw.textlength(label, font=font)
            x = self.right - 8 - width
            self.draw.rectangle([x - 12, y + 2, x - 5, y + 9], fill=color)
            self.figure.text((x, y), label, size, anchor="la")
            y += size + 4

    def axes(self, ylabel: str, xlabel: str | None = None, xticklabels: bool = True) -> None:
        """The frame, ticks, tick labels and axis labels (draw it last)."""
        draw, text = self.draw, self.figure.text
        draw.rectangle([self.left, self.top, self.right, self.bottom], outline=_FRAME)
        yticks = nice_ticks(*self.ylim, target=4)
        for value in yticks:
            row = float(self.py(value))
            draw.line([(self.left - 4, row), (self.left, row)], fill=_FRAME)
            text((self.left - 6, row), _tick_label(value, yticks), 11, anchor="rm")
        xticks = nice_ticks(*self.xlim, target=10)
        for value in xticks:
            col = float(self.px(value))
            draw.line([(col, self.bottom), (col, self.bottom + 4)], fill=_FRAME)
            if xticklabels:
                text((col, self.bottom + 6), _tick_label(value, xticks), 11, anchor="mt")
        text((14, (self.top + self.bottom) / 2), ylabel, 12, vertical=True)
        if xlabel:
            text(((self.left + self.right) / 2, self.bottom + 22), xlabel, 12, anchor="mt")


class RasterFigure:
    """A white canvas of ``width`` x ``height`` pixels with a title and stacked panels.

    Examples
    --------
    >>> fig = RasterFigure(880, 480, "sub-01 reading")  # doctest: +SKIP
    >>> panel = fig.panel((60, 40, 870, 200), xlim=(0, 12.5), ylim=(-1, 1))
    >>> panel.line(t, y, (60, 60, 60)); panel.axes("waveform")
    >>> fig.save("qc.png")
    """

    def __init__(self, width: int, height: int, title: str = ""):
        from PIL import Image, ImageDraw

        self.image = Image.new("RGB", (int(width), int(height)), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        if title:
            self.text((width / 2, 8), title, 14, anchor="mt")

    def panel(self, box, xlim, ylim, yinvert: bool = False) -> Panel:
        """A plotting area: ``box`` is (left, top, right, bottom) in pixels; ``yinvert``: y
        grows downwards (an image with row 0 at the top)."""
        return Panel(self, box, xlim, ylim, yinvert)

    def colorbar(self, box, lut: np.ndarray, vmin: float, vmax: float, label: str = "") -> None:
        """A vertical colour bar in ``box`` (``vmin`` at the bottom) with ticks and tick labels
        on its right and ``label`` turned a quarter beside them."""
        bar = self.panel(box, (0, 1), (vmin, vmax))
        rows = max(round(bar.bottom) - round(bar.top), 1)
        values = np.linspace(vmin, vmax, rows)  # one value per pixel row, vmin at the bottom
        bar.image(colorize(values[:, None], lut, vmin, vmax))
        self.draw.rectangle([bar.left, bar.top, bar.right, bar.bottom], outline=_FRAME)
        ticks = nice_ticks(vmin, vmax, target=5)
        for value in ticks:
            row = float(bar.py(value))
            self.draw.line([(bar.right, row), (bar.right + 4, row)], fill=_FRAME)
            self.text((bar.right + 6, row), _tick_label(value, ticks), 11, anchor="lm")
        if label:
            self.text((bar.right + 40, (bar.top + bar.bottom) / 2), label, 12, vertical=True)

    def text(
        self, xy, text: str, size: int = 12, anchor: str = "la", vertical: bool = False
    ) -> None:
        """``text`` at ``xy`` (Pillow's ``anchor``, e.g. ``mt``: middle top); ``vertical``:
        turned a quarter left and centred on ``xy`` (a y-axis label)."""
        mask, dx, dy = _text_mask(text, size, "mm" if vertical else anchor, vertical)
        self.image.paste(_INK, (round(xy[0] + dx), round(xy[1] + dy)), mask)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the PNG through a temporary file, then rename it."""
        from psymodal.io.tables import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            # zlib level 3: a third faster than the default 6 for ~15 % more bytes
            self.image.save(tmp, format="PNG", compress_level=3)
        return path
