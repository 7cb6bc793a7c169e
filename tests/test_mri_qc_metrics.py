"""Voxel-wise QC metrics (tSNR, DVARS, non-finite count) against a plain float64 reference."""

from __future__ import annotations

import numpy as np
import pytest

from psymodal.mri.qc import voxel_metrics


def reference(data, mask, keep):
    block = data[mask][:, keep].astype(np.float64)
    finite = np.isfinite(block)
    block = np.where(finite, block, 0.0)
    mean, std = block.mean(axis=1), block.std(axis=1)
    ok = (std > 0) & (mean != 0)
    scale = np.where(mean != 0, 100.0 / np.where(mean != 0, mean, 1.0), 0.0)
    dvars = np.sqrt(((np.diff(block, axis=1) * scale[:, None]) ** 2).mean(axis=0))
    return np.median(mean[ok] / std[ok]), dvars.mean(), int((~finite).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("keep", [np.arange(3, 40), np.array([0, 2, 5, 9, 10, 30])])
def test_voxel_metrics_match_a_float64_reference(dtype, keep):
    rng = np.random.default_rng(0)
    data = 1000 + 50 * rng.standard_normal((7, 6, 19, 40))
    data[0, 0, 0, 5], data[0, 0, 0, 6] = 32000, -32000  # an int16 difference that would wrap
    data = data.astype(dtype)
    mask = rng.random(data.shape[:3]) > 0.3
    got = voxel_metrics(data, mask, keep)
    tsnr, dvars, n_bad = reference(data, mask, keep)
    # float32 data: volume-to-volume differences are taken in float32 (no float64 copy)
    rel = 1e-6 if dtype == np.float32 else 1e-9
    assert got["tsnr_median"] == pytest.approx(tsnr, rel=rel)
    assert got["dvars_mean"] == pytest.approx(dvars, rel=rel)
    assert got["n_nonfinite"] == n_bad == 0
    assert got["mean_img"][~mask].sum() == 0


def test_non_finite_values_are_counted_and_ignored():
    data = np.full((4, 4, 4, 10), 100.0, dtype=np.float32)
    data += np.arange(10, dtype=np.float32)
    data[1, 1, 1, 3] = np.nan
    data[2, 2, 2, 4] = np.inf
    got = voxel_metrics(data, np.ones((4, 4, 4), dtype=bool), np.arange(10))
    assert got["n_nonfinite"] == 2
    assert np.isfinite(got["tsnr_median"]) and np.isfinite(got["dvars_mean"])
