"""save_png draws a figure with a layout engine once, and writes the bytes savefig writes."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.io.figures import save_png


def _figure(layout: str):
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    fig = Figure(figsize=(6, 4), dpi=80, layout="constrained" if layout == "constrained" else None)
    left, right = fig.subplots(1, 2)
    image = left.imshow(rng.standard_normal((20, 30)), cmap="RdBu_r", interpolation="nearest")
    fig.colorbar(image, ax=left).set_label("z")
    right.plot(rng.random(40), label="a long legend entry")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15))
    right.text(0.5, 0.5, "a message that wraps " * 4, wrap=True, transform=right.transAxes)
    fig.suptitle("title")
    if layout == "tight":
        fig.tight_layout()
    return fig


@pytest.mark.parametrize("layout", ["constrained", "tight", "none"])
def test_same_bytes_as_savefig(tmp_path, layout):
    save_png(_figure(layout), tmp_path / "ours.png")
    _figure(layout).savefig(tmp_path / "plain.png", format="png", metadata={"Software": None})
    assert (tmp_path / "ours.png").read_bytes() == (tmp_path / "plain.png").read_bytes()


def test_one_draw(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, r: (draws.append(1), original(self, r)))
    save_png(_figure("constrained"), tmp_path / "a.png")
    assert len(draws) == 1
