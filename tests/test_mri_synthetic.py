"""Sanity checks of the synthetic fMRIPrep-like derivatives (``_helpers.make_run``)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd

from _helpers import SHAPE, make_run


def test_fixture_is_fmriprep_like(tmp_path):
    paths = make_run(tmp_path)
    img = nib.load(paths["bold"])
    assert img.shape == SHAPE + (100,)
    conf = pd.read_csv(paths["confounds"], sep="\t", na_values="n/a")
    assert len(conf) == 100
    assert {"trans_x_derivative1_power2", "framewise_displacement", "csf"} <= set(conf)
    assert np.isnan(conf["framewise_displacement"].iloc[0])
