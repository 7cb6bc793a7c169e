"""Figures drawn straight into pixels (the per-recording speech QC figure): nice ticks,
labelled axes, byte-identical PNGs."""

from __future__ import annotations

import numpy as np
from PIL import Image

from psymodal.io.raster_figure import RasterFigure, nice_ticks


def test_ticks_fall_on_round_numbers_inside_the_range():
    assert nice_ticks(0, 15.1, target=10).tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert nice_ticks(-1.05, 1.05, target=4).tolist() == [-1, 0, 1]
    assert nice_ticks(-62, -18, target=4).tolist() == [-60, -40, -20]
    assert nice_ticks(-82.7, -7.2, target=4).tolist() == [-80, -60, -40, -20]
    assert nice_ticks(0, 0.59, target=10).tolist()[:3] == [0, 0.05, 0.1]
    assert nice_ticks(1, 1).tolist() == [1]


def _figure(path):
    fig = RasterFigure(400, 240, "sub-01 reading")
    panel = fig.panel((60, 40, 390, 190), xlim=(0, 10), ylim=(-1, 1))
    panel.span(2, 4, (223, 241, 223))
    x = np.linspace(0, 10, 500)
    panel.line(x, np.where(x < 5, np.sin(x), np.nan), (51, 51, 51))
    panel.envelope(x, -np.abs(np.sin(x)), np.abs(np.sin(x)), (77, 77, 77))
    panel.points(x[::20], np.cos(x[::20]), (31, 119, 180), size=3)
    panel.hline(0.5, (44, 160, 44), dash=4)
    panel.vlines([1, 2], 0.8, 1.0, (255, 127, 14))
    panel.legend([("voiced", (31, 119, 180))])
    panel.title("a title")
    panel.axes("level (dB)", xlabel="time (s)")
    return fig.save(path)


def test_a_figure_has_its_data_and_labelled_axes_and_the_same_bytes_each_time(tmp_path):
    first = _figure(tmp_path / "a.png").read_bytes()
    assert _figure(tmp_path / "b.png").read_bytes() == first
    pixels = np.asarray(Image.open(tmp_path / "a.png").convert("L"))
    assert pixels.shape == (240, 400)
    assert (pixels[:, :24] < 128).any()  # the y-axis label, turned a quarter
    assert (pixels[215:, 150:300] < 128).any()  # "time (s)" under the x tick labels
    assert (pixels[45:185, 65:385] < 200).mean() > 0.05  # the data inside the frame
    assert not list(tmp_path.glob(".*tmp*"))  # written through a temporary file


def test_colour_tables_are_matplotlibs_gray_and_rdbu_r_without_importing_it():
    import matplotlib

    from psymodal.io.raster_figure import colorize, diverging_lut, grey_lut

    grey, ramp = grey_lut(), diverging_lut()
    assert grey.shape == ramp.shape == (256, 3)
    for lut, name in ((grey, "gray"), (ramp, "RdBu_r")):
        table = matplotlib.colormaps[name](np.arange(256))[:, :3]
        assert np.array_equal(lut, np.round(table * 255).astype(np.uint8)), name
    rgb = colorize([[-9.0, 0.0, 9.0, np.nan]], ramp, -2.5, 2.5, bad=(1, 2, 3))
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 4, 3)
    assert rgb[0, 0].tolist() == ramp[0].tolist() and rgb[0, 2].tolist() == ramp[-1].tolist()
    assert rgb[0, 3].tolist() == [1, 2, 3]


def test_an_image_fills_its_panel_with_an_outline_and_a_colour_bar(tmp_path):
    from psymodal.io.raster_figure import OUTLINE, colorize, fit_box, grey_lut

    assert fit_box((0, 0, 300, 100), (10, 20)) == (50, 0, 250, 100)
    values = np.arange(12.0).reshape(3, 4)  # row 0 at the bottom (origin lower)
    mask = np.zeros((3, 4), dtype=bool)
    mask[0, 0] = True
    fig = RasterFigure(200, 120)
    box = fit_box((10, 10, 130, 110), values.shape)
    panel = fig.panel(box, (-0.5, 3.5), (-0.5, 2.5))
    panel.image(colorize(values, grey_lut(), 0, 11), overlay=mask)
    fig.colorbar((150, 10, 160, 110), grey_lut(), 0, 1, "z")
    pixels = np.asarray(fig.image)
    left, top, right, bottom = box
    assert pixels[bottom - 2, left + 2].tolist() == list(OUTLINE)  # row 0, column 0: bottom left
    assert pixels[top + 2, right - 2].tolist() == [255, 255, 255]  # the largest value, top right
    assert pixels[12, 155].min() > 240 and pixels[107, 155].max() < 15  # vmax at the top
    inverted = RasterFigure(200, 120).panel(box, (-0.5, 3.5), (-0.5, 2.5), yinvert=True)
    inverted.image(colorize(values, grey_lut(), 0, 11), overlay=mask)
    assert np.asarray(inverted.figure.image)[top + 2, left + 2].tolist() == list(OUTLINE)
