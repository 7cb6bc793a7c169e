"""The per-run MRI QC figure (Pillow): its panels are drawn, its bytes are the same for the
same inputs, and drawing it imports no matplotlib."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
from PIL import Image

from _helpers import modules_imported_by
from psymodal.io.raster_figure import OUTLINE
from psymodal.mri.figures import qc_figure


def _inputs():
    rng = np.random.default_rng(0)
    shape = (20, 24, 18)
    grid = np.indices(shape).astype(float)
    centre = (np.array(shape) - 1)[:, None, None, None] / 2
    brain = ((grid - centre) ** 2 / (np.array(shape)[:, None, None, None] / 2.4) ** 2).sum(0) < 1
    mean = np.where(brain, 500 + 100 * rng.random(shape), 0.0)
    labels = np.zeros(shape, dtype=np.int16)
    labels[8:12, 10:14, 7:11] = 1
    labels[4:7, 6:10, 7:11] = 2
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    ts = pd.DataFrame(rng.normal(size=(40, 5)), columns=[f"r{i}" for i in range(5)])
    ts["r3"] = np.nan  # a missing region
    fd = np.r_[np.nan, rng.uniform(0.05, 0.3, 44)]
    fd[20] = 0.9
    kept = np.setdiff1d(np.arange(45), [0, 1, 19, 20, 21])
    images = nib.Nifti1Image(mean, affine), nib.Nifti1Image(labels, affine)
    return (*images, ts), {"fd": fd, "kept": kept, "fd_threshold": 0.5}


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_the_figure_shows_slices_carpet_colour_bar_and_motion_with_the_same_bytes(tmp_path):
    args, kwargs = _inputs()
    first = qc_figure(tmp_path / "a.png", *args, "sub-01_task-rest", **kwargs)
    assert qc_figure(tmp_path / "b.png", *args, "sub-01_task-rest", **kwargs).read_bytes() == (
        first.read_bytes()
    )
    rgb = _pixels(first)
    assert rgb.shape == (740, 990, 3)
    slices, carpet, bar, motion = rgb[56:272], rgb[306:546, 64:896], rgb[306:546], rgb[598:690]
    assert (slices == OUTLINE).all(axis=2).sum() > 50  # atlas outlines on the slices
    grey = (slices[..., 0] == slices[..., 1]) & (slices[..., 1] == slices[..., 2])
    assert ((slices[..., 0] > 60) & (slices[..., 0] < 250) & grey).sum() > 1000  # the EPI
    blue = (carpet[..., 2] > carpet[..., 0] + 60).mean()
    red = (carpet[..., 0] > carpet[..., 2] + 60).mean()
    assert blue > 0.1 and red > 0.1  # z values on the diverging scale
    missing = (carpet == (153, 153, 153)).all(axis=2).mean()
    assert 0.1 < missing < 0.3  # one region in five in grey
    assert (bar[:, 908:922, 2] > bar[:, 908:922, 0] + 60).any()  # the colour bar's blue end
    assert (motion[:, 64:896] < 60).all(axis=2).sum() > 100  # the FD trace
    assert ((motion[..., 0] == 214) & (motion[..., 1] == 39)).sum() > 20  # threshold, crosses
    assert not list(tmp_path.glob(".*tmp*"))  # written through a temporary file


def test_without_motion_estimates_the_motion_panel_says_so(tmp_path):
    args, kwargs = _inputs()
    path = qc_figure(tmp_path / "a.png", *args, "sub-01", fd=None, kept=kwargs["kept"])
    motion = _pixels(path)[598:690]
    assert (motion < 128).all(axis=2).sum() > 50  # the text
    assert not (motion[:, 64] < 128).all(axis=1).any()  # no frame


def test_drawing_the_figure_imports_no_matplotlib(tmp_path):
    statement = (
        "import numpy as np, nibabel as nib, pandas as pd; "
        "import psymodal.mri.subject_runs; from psymodal.mri.figures import qc_figure; "
        "img = nib.Nifti1Image(np.ones((6, 6, 6)), np.eye(4)); "
        f"qc_figure({str(tmp_path / 'a.png')!r}, img, img, pd.DataFrame(np.zeros((5, 2))), 't', "
        "fd=np.zeros(5), kept=np.arange(5))"
    )
    assert modules_imported_by(statement, ("matplotlib",)) == []
    assert (tmp_path / "a.png").exists()
